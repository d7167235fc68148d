// The per-namespace metadata proxies (Neutron's MetadataDriver): haproxy in a namespace that
// instances reach at 169.254.169.254, forwarding to the metadata agent's socket with the id of
// the network or router it serves. The DHCP agent runs one per network in qdhcp-<network>
// (listening on 169.254.169.254:80, the address on its ns- interface, and on fe80::a9fe:a9fe:80
// bound to that interface, as Neutron's DHCP agent does for IPv6 instances: the metadata agent
// finds such a client by the MAC in its link-local address); the L3 agent runs one per router in
// qrouter-<router> through the API below.
//
// For the L3 agent, per router (o = metadataProxyOptions(cfg)):
//   await startRouterMetadataProxy(o, routerId, `qrouter-${routerId}`);   // after the namespace exists
//   await stopMetadataProxy(o, routerId);                                   // before it is deleted
// and, in the router's nftables transaction, the rules of routerMetadataNftRules(): instances send
// to 169.254.169.254:80 through their default gateway (the router's qr- interface); a dstnat
// redirect turns that into the proxy's port 9697 on the router itself, and the input filter
// accepts 9697 only for connections so redirected (Neutron marks packets in mangle for this; in
// nftables `ct status dnat` says the same). The proxy listens on 0.0.0.0:9697 in the namespace.
import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import { ensureHttpProxy, stopHttpProxy, type HttpProxyAction } from '../../dataplane/index.js';

export const METADATA_IP = '169.254.169.254';
export const METADATA_CIDR = `${METADATA_IP}/32`;
/** The IPv6 metadata address (neutron-lib's METADATA_V6_IP, and its /64). */
export const METADATA_V6_IP = 'fe80::a9fe:a9fe';
export const METADATA_V6_CIDR = `${METADATA_V6_IP}/64`;
/** Where a DHCP namespace's proxy listens (on the metadata address itself). */
export const METADATA_PORT = 80;
/** Where a router namespace's proxy listens; the redirect target (Neutron's [DEFAULT] metadata_port). */
export const ROUTER_METADATA_PORT = 9697;
/** The proxies' files: state_path/ns-metadata-proxy/<id>.conf and .pid, as Neutron keeps them. */
export const PROXY_DIR = 'ns-metadata-proxy';

export interface MetadataProxyOptions {
  /** [DEFAULT] state_path. */
  statePath: string;
  /** [DEFAULT] metadata_proxy_socket: the metadata agent's socket. */
  socketPath: string;
}

/** Neutron's default socket: $state_path/metadata_proxy. */
export function defaultSocketPath(statePath: string): string {
  return join(statePath, 'metadata_proxy');
}

/** The proxies' options from configuration ([DEFAULT] state_path, metadata_proxy_socket). */
export function metadataProxyOptions(cfg: Config): MetadataProxyOptions {
  return { statePath: cfg.DEFAULT.state_path, socketPath: cfg.DEFAULT.metadata_proxy_socket ?? defaultSocketPath(cfg.DEFAULT.state_path) };
}

const dirOf = (o: MetadataProxyOptions) => join(o.statePath, PROXY_DIR);

/**
 * The proxy of an isolated network, in its qdhcp- namespace (169.254.169.254 must be on an
 * interface there; with `v6Interface`, fe80::a9fe:a9fe on that one, where it listens too).
 */
export function startNetworkMetadataProxy(o: MetadataProxyOptions, networkId: string, netns: string, v6Interface?: string): Promise<HttpProxyAction> {
  return ensureHttpProxy({
    id: networkId,
    stateDir: dirOf(o),
    netns,
    listenHost: METADATA_IP,
    listenPort: METADATA_PORT,
    ...(v6Interface ? { interfaceBinds: [{ host: METADATA_V6_IP, port: METADATA_PORT, iface: v6Interface }] } : {}),
    socketPath: o.socketPath,
    setHeaders: { 'X-Neutron-Network-ID': networkId },
    deleteHeaders: ['X-Neutron-Router-ID'],
  });
}

/** The proxy of a router, in its qrouter- namespace, on 0.0.0.0:9697 (see the redirect rules). */
export function startRouterMetadataProxy(o: MetadataProxyOptions, routerId: string, netns: string): Promise<HttpProxyAction> {
  return ensureHttpProxy({
    id: routerId,
    stateDir: dirOf(o),
    netns,
    listenHost: '0.0.0.0',
    listenPort: ROUTER_METADATA_PORT,
    socketPath: o.socketPath,
    setHeaders: { 'X-Neutron-Router-ID': routerId },
    deleteHeaders: ['X-Neutron-Network-ID'],
  });
}

/** Stops the proxy of a network or router (by its id); true if one was running. */
export function stopMetadataProxy(o: MetadataProxyOptions, id: string): Promise<boolean> {
  return stopHttpProxy(dirOf(o), id);
}

/**
 * The router's metadata rules, as nft rule statements for the L3 agent's own table in the
 * router's namespace (family ip), by the chain kind they belong in:
 *   nat:    in a chain `type nat hook prerouting priority dstnat`
 *   filter: in a chain `type filter hook input priority filter`, before any accept of 9697
 * `internalPrefix`: the router's internal interfaces (Neutron's qr-+).
 */
export function routerMetadataNftRules(internalPrefix = 'qr-'): { nat: string[]; filter: string[] } {
  return {
    nat: [`iifname "${internalPrefix}*" ip daddr ${METADATA_IP} tcp dport ${METADATA_PORT} redirect to :${ROUTER_METADATA_PORT}`],
    filter: [`tcp dport ${ROUTER_METADATA_PORT} ct status dnat accept`, `tcp dport ${ROUTER_METADATA_PORT} drop`],
  };
}
