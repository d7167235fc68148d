// The pure core of IP address management (no I/O): addresses, CIDRs, pools, allocation
// choice, subnet attribute validation, IPv6 modes / EUI-64 and MACs, as Neutron behaves.
export * from './address.js';
export * from './cidr.js';
export * from './subnet.js';
export * from './pools.js';
export * from './allocate.js';
export * from './routes.js';
export * from './ipv6.js';
export * from './mac.js';
export * from './errors.js';
