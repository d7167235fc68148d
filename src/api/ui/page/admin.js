// The admin view: the agents (alive, last heartbeat, host, what they report having synced) and,
// per host, the ports bound there with their status.
import htm from 'htm';
import { h } from 'preact';

const html = htm.bind(h);

function ago(timestamp, now) {
  if (!timestamp) return '—';
  // Neutron's timestamps are UTC, often without a zone.
  const iso = timestamp.replace(' ', 'T');
  const at = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  const s = Math.max(0, Math.round((now - at) / 1000));
  return Number.isNaN(s) ? timestamp : `${s} s ago`;
}

/** What an agent says it has in hand (its report's counts), or resources_synced when the server tells it. */
function synced(a) {
  if (a.resources_synced !== undefined && a.resources_synced !== null) return String(a.resources_synced);
  const c = a.configurations ?? {};
  const counts = ['devices', 'networks', 'subnets', 'ports', 'routers', 'floating_ips'].filter((k) => typeof c[k] === 'number');
  return counts.map((k) => `${k} ${c[k]}`).join(', ') || '—';
}

export function Agents({ agents, now }) {
  if (agents.length === 0) return html`<p class="muted">No agent has reported to this server.</p>`;
  const sorted = [...agents].sort((a, b) => a.host.localeCompare(b.host) || a.agent_type.localeCompare(b.agent_type));
  return html`<table id="agents">
    <thead><tr><th>host</th><th>type</th><th>binary</th><th>alive</th><th>admin state</th><th>last heartbeat</th><th>resources synced</th></tr></thead>
    <tbody>
      ${sorted.map(
        (a) => html`<tr key=${a.id} data-id=${a.id} data-alive=${String(a.alive)}>
          <td>${a.host}</td><td>${a.agent_type}</td><td>${a.binary}</td>
          <td class=${`status ${a.alive ? 'alive' : 'dead'}`}>${a.alive ? 'alive' : 'down'}</td>
          <td>${a.admin_state_up ? 'up' : 'down'}</td>
          <td title=${a.heartbeat_timestamp}>${ago(a.heartbeat_timestamp, now)}</td>
          <td>${synced(a)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function HostPorts({ ports, networks }) {
  const names = new Map(networks.map((n) => [n.id, n.name || n.id.slice(0, 8)]));
  const byHost = new Map();
  for (const p of ports) {
    const host = p['binding:host_id'] || '(not bound)';
    (byHost.get(host) ?? byHost.set(host, []).get(host)).push(p);
  }
  const hosts = [...byHost.keys()].sort();
  if (hosts.length === 0) return html`<p class="muted">No ports.</p>`;
  return html`<table id="host-ports">
    <thead><tr><th>host</th><th>port</th><th>device owner</th><th>network</th><th>addresses</th><th>status</th></tr></thead>
    <tbody>
      ${hosts.flatMap((host) =>
        byHost.get(host).map(
          (p, i) => html`<tr key=${p.id} data-id=${p.id} data-host=${host}>
            <td>${i === 0 ? host : ''}</td>
            <td title=${p.id}>${p.name || p.id.slice(0, 8)}</td>
            <td>${p.device_owner || '—'}</td>
            <td>${names.get(p.network_id) ?? p.network_id.slice(0, 8)}</td>
            <td>${(p.fixed_ips ?? []).map((f) => f.ip_address).join(' ')}</td>
            <td class=${`status ${p.status}`}>${p.status}</td>
          </tr>`,
        ),
      )}
    </tbody>
  </table>`;
}
