// agents (Neutron's `agent` extension, neutron_lib/api/definitions/agent.py), plus the
// `availability_zone` attribute that Neutron's availability_zone extension adds to agents.
// Agents are created by their own state reports over RPC, never through the API: every
// attribute is read-only except admin_state_up and description.
import type { ResourceDef } from './types.js';
import { idAttr } from './common.js';
import { boolean, filterBool, stringOrNull } from './validators.js';

const ro = { allowPost: false, allowPut: false, visible: true } as const;

export const agentDef: ResourceDef = {
  name: 'agent',
  collection: 'agents',
  attributes: {
    id: idAttr,
    agent_type: { ...ro, filter: true, sortKey: true },
    binary: { ...ro, filter: true, sortKey: true },
    topic: { ...ro, filter: true, sortKey: true },
    host: { ...ro, filter: true, sortKey: true },
    admin_state_up: { allowPost: false, allowPut: true, visible: true, filter: true, sortKey: true, validate: boolean, filterConvert: filterBool },
    created_at: { ...ro, sortKey: true },
    started_at: { ...ro, sortKey: true },
    heartbeat_timestamp: { ...ro, sortKey: true },
    alive: { ...ro, filter: true, filterConvert: filterBool },
    configurations: { ...ro },
    description: { allowPost: false, allowPut: true, visible: true, filter: true, sortKey: true, validate: stringOrNull(255) },
    availability_zone: { ...ro, filter: true, sortKey: true },
  },
};
