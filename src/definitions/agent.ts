// agents (Neutron's `agent` extension, neutron_lib/api/definitions/agent.py), plus the
// `availability_zone` attribute that Neutron's availability_zone extension adds to agents.
// Agents are created by their own state reports over RPC, never through the API: every
// attribute is read-only except admin_state_up and description.
import type { ResourceDef } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr } from './common.js';
import { boolean, filterBool, stringOrNull } from './validators.js';

const ro = { allowPost: false, allowPut: false, visible: true } as const;
/** Read-only and stored in the column of its name. */
const stored = { ...ro, column: COLUMN };

export const agentDef: ResourceDef = {
  name: 'agent',
  collection: 'agents',
  table: 'agents',
  attributes: {
    id: idAttr,
    agent_type: { ...stored, filter: true, sortKey: true },
    binary: { ...stored, filter: true, sortKey: true },
    topic: { ...stored, filter: true, sortKey: true },
    host: { ...stored, filter: true, sortKey: true },
    admin_state_up: { allowPost: false, allowPut: true, visible: true, filter: true, sortKey: true, validate: boolean, filterConvert: filterBool,
      column: BOOL_COLUMN,
    },
    created_at: { ...stored, sortKey: true },
    started_at: { ...stored, sortKey: true },
    heartbeat_timestamp: { ...stored, sortKey: true },
    alive: { ...ro, filter: true, filterConvert: filterBool },
    configurations: { ...ro },
    description: { allowPost: false, allowPut: true, visible: true, filter: true, sortKey: true, validate: stringOrNull(255), column: COLUMN },
    availability_zone: { ...stored, filter: true, sortKey: true },
    // agent-resources-synced: whether the agent's resources last reached Placement. neutrino has
    // no Placement reporting, so it is null, as Neutron's is without its placement plugin.
    resources_synced: { ...ro, extension: 'agent-resources-synced' },
  },
};
