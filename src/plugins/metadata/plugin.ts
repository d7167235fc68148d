// The metadata agents' RPC (Neutron's MetadataRpcCallback on q-plugin, RPC namespace 'metadata'):
//   get_ports(filters)   ports as admin sees them, by Neutron's filter dict
// The agent asks with {network_id: [...], fixed_ips: {ip_address: [ip]}} (or mac_address) to find
// an instance by its source address, and with {device_id: [router], device_owner: [...]} to find
// the networks a router is attached to. Always loaded, as in Neutron's ML2.
import { adminContext } from '../../core/context.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec } from '../../core/resource.js';
import { PLUGIN_TOPIC } from '../../core/wire.js';
import type { RpcContext } from '../../rpc/index.js';
import type { PluginDefinition } from '../contract.js';
import type { CoreHandlers } from '../ml2/plugin.js';

/** The filter keys the agent sends (a list of values each; fixed_ips as {ip_address|subnet_id: [...]}). */
const PLAIN_KEYS = ['id', 'network_id', 'device_id', 'device_owner', 'mac_address', 'tenant_id', 'project_id'] as const;

/** Neutron's filter dict → our list query; unknown keys are refused rather than ignored (a wider answer would misattribute an instance). */
export function portQuery(filters: unknown): ListQuery {
  const f = (filters ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'fixed_ips') {
      const ips = (v ?? {}) as Record<string, unknown>;
      const parts: string[] = [];
      for (const [ik, iv] of Object.entries(ips)) {
        if (ik !== 'ip_address' && ik !== 'subnet_id') throw new Error(`get_ports: unsupported fixed_ips filter ${ik}`);
        for (const x of Array.isArray(iv) ? iv : [iv]) parts.push(`${ik}=${String(x)}`);
      }
      if (parts.length) out.fixed_ips = parts;
    } else if ((PLAIN_KEYS as readonly string[]).includes(k)) {
      out[k === 'tenant_id' ? 'project_id' : k] = (Array.isArray(v) ? v : [v]).map(String);
    } else {
      throw new Error(`get_ports: unsupported filter ${k}`);
    }
  }
  return { filters: out, fields: [], sorts: [], limit: null, marker: null, pageReverse: false, tagFilters: {} };
}

export const metadataPlugin: PluginDefinition = {
  name: 'metadata',
  aliases: () => [],
  create(ctx) {
    const core = ctx.exportsOf<CoreHandlers>('ml2')!;
    return {
      rpc: [
        {
          topic: PLUGIN_TOPIC,
          handlers: {
            async get_ports(rctx: RpcContext, args: { filters?: unknown }): Promise<Rec[]> {
              return core.ports.list(adminContext(rctx?.requestId ?? 'req-metadata-rpc'), portQuery(args?.filters));
            },
          },
        },
      ],
    };
  },
};
