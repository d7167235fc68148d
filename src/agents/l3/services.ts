// What a router runs besides links, routes and NAT: the metadata proxy (enable_metadata_proxy)
// and the IPv6 router advertisements (radvd), as Neutron's L3 agent runs them in qrouter-.
//   - metadata: haproxy on 0.0.0.0:9697 in the namespace, forwarding to the metadata agent's
//     socket with X-Neutron-Router-ID; the router's nftables table gets the redirect of
//     169.254.169.254:80 arriving on qr- interfaces to 9697, and an input chain that admits 9697
//     only for so-redirected connections (routerMetadataNftRules);
//   - router advertisements: radvd with ra.ts's configuration, its files under
//     state_path/ra (Neutron's ra_confs), reloaded only when the text changes; IPv6 forwarding
//     on in the namespace when the router has IPv6 addresses (the kernel then acts as a router:
//     answers as one and forwards). An HA router runs radvd only where it is active, and has
//     IPv6 forwarding on whatever its state (ha.ts says why).
// Every step reads first; a pass over what is already there writes nothing, so an agent restart
// adopts the running haproxy and radvd. A notification's pass after one of this process that
// succeeded skips the checks (as the agent trusts its last pass); full syncs look again.
import { join } from 'node:path';
import { ensureRadvd, runInNetns, stopRadvd, type Exec, type NftTable } from '../../dataplane/index.js';
import type { RpcLogger } from '../../rpc/index.js';
import { routerMetadataNftRules, startRouterMetadataProxy, stopMetadataProxy, type MetadataProxyOptions } from '../metadata/proxy.js';
import { type RouterPlan, type SyncRouter } from './model.js';
import { DEFAULT_RA_OPTIONS, radvdConfig, type RaOptions } from './ra.js';

/** Neutron's [DEFAULT] ra_confs: state_path/ra. */
export const RA_DIR = 'ra';
const METADATA_INPUT_CHAIN = 'metadata_input';

export interface RouterServicesOptions {
  statePath: string;
  /** The proxies' options; null: enable_metadata_proxy = false. */
  metadata: MetadataProxyOptions | null;
  ra?: RaOptions;
  exec?: Exec;
  logger: RpcLogger;
}

export class RouterServices {
  readonly raDir: string;
  /** Per router: what this process last made sure of (radvd's text, null: none). */
  private readonly checked = new Map<string, { radvd: string | null; ipv6Forwarding: boolean | null }>();

  constructor(private readonly o: RouterServicesOptions) {
    this.raDir = join(o.statePath, RA_DIR);
  }

  /** The plan with the metadata rules in its nftables table (pure). */
  extend(plan: RouterPlan): RouterPlan {
    if (!this.o.metadata) return plan;
    const rules = routerMetadataNftRules();
    const chains = plan.nat.chains.map((c) => (c.name === 'prerouting' ? { ...c, rules: [...rules.nat, ...c.rules] } : c));
    chains.push({ name: METADATA_INPUT_CHAIN, base: { type: 'filter', hook: 'input', priority: 0 }, rules: rules.filter });
    const nat: NftTable = { ...plan.nat, chains };
    return { ...plan, nat };
  }

  /**
   * After the router's links and table are in place: IPv6 forwarding, radvd, the metadata proxy.
   * `trusted`: the kernel is as this process's last pass left it; `ha`: an HA router, active
   * here or not. Returns the writes made.
   */
  async apply(r: SyncRouter, plan: RouterPlan, trusted: boolean, ha: { active: boolean } | null = null): Promise<number> {
    const ns = plan.namespace;
    const radvd = ha && !ha.active ? null : radvdConfig(r, this.o.ra ?? DEFAULT_RA_OPTIONS);
    const last = trusted ? this.checked.get(r.id) : undefined;
    // IPv6 forwarding: on in a router with IPv6 addresses (left on if they go); in an HA router,
    // always on (its namespace is made so; this makes sure of it).
    let forwarding: boolean | null;
    if (ha) forwarding = true;
    else forwarding = plan.routerLinks.some((l) => (l.addresses ?? []).some((a) => a.includes(':'))) || (last?.ipv6Forwarding ?? null);
    let changes = 0;
    if (forwarding && last?.ipv6Forwarding !== true) changes += await this.ensureIpv6Forwarding(ns);
    if (!last || last.radvd !== radvd) {
      if (radvd === null) {
        if (await stopRadvd(this.raDir, r.id)) changes++;
      } else {
        const action = await ensureRadvd({ id: r.id, stateDir: this.raDir, netns: ns, config: radvd, ...(this.o.exec ? { exec: this.o.exec } : {}) });
        if (action !== 'none') {
          changes++;
          this.o.logger.info({ routerId: r.id, action }, 'radvd');
        }
      }
    }
    if (this.o.metadata && !last) {
      const action = await startRouterMetadataProxy(this.o.metadata, r.id, ns);
      if (action !== 'none') changes++;
    }
    this.checked.set(r.id, { radvd, ipv6Forwarding: forwarding });
    return changes;
  }

  /** Before the namespace goes: stops the router's radvd and proxy. */
  async teardown(routerId: string): Promise<void> {
    this.checked.delete(routerId);
    await stopRadvd(this.raDir, routerId);
    if (this.o.metadata) await stopMetadataProxy(this.o.metadata, routerId);
  }

  /** After a failed pass: look at everything again next time. */
  forget(routerId: string): void {
    this.checked.delete(routerId);
  }

  private async ensureIpv6Forwarding(ns: string): Promise<number> {
    const key = 'net.ipv6.conf.all.forwarding';
    const want = '1';
    const now = await runInNetns(ns, { argv: ['sysctl', '-n', key] }, this.o.exec);
    if (now.stdout.trim() === want) return 0;
    await runInNetns(ns, { argv: ['sysctl', '-qw', `${key}=${want}`], write: true }, this.o.exec);
    return 1;
  }
}
