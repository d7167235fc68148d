// The dataplane layer: how to read and change the kernel (links, bridges, FDB, neighbours,
// namespaces, nftables, daemons: dnsmasq, haproxy, radvd). It knows nothing of Neutron's model; agents build desired
// state in these terms and call the reconcile functions.
export * from './exec.js';
export * from './values.js';
export * from './batch.js';
export * from './netns.js';
export * from './links.js';
export * from './fdb.js';
export * from './neigh.js';
export * from './routes.js';
export * from './nftables.js';
export * from './daemon.js';
export * from './dnsmasq.js';
export * from './haproxy.js';
export * from './radvd.js';
export * from './monitor.js';
