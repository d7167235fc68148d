// The topology drawing, in plain SVG (boxes, bars and lines are all it needs, so no drawing
// library): as Horizon's network topology draws it, each network is a vertical bar (external
// ones first) and each device (router, instance, DHCP server, lone port) a box on the left with
// one line per port to its network's bar, the port's addresses by the bar. A floating IP is a
// dashed line from the device of its port (or a box of its own while free) to its external network.
import htm from 'htm';
import { h } from 'preact';

const html = htm.bind(h);

const LEFT = 300; // x of the first bar
const BAR_GAP = 140;
const BAR_W = 14;
const BOX_X = 10;
const BOX_W = 240;
const TOP = 64; // y of the first device box, below the bars' labels
const HEAD = 40; // a box's title and subtitle
const ROW = 18; // a box's line per port or floating IP
const GAP = 14;
const COLORS = ['#3b7dd8', '#2e9e6b', '#8e5bd0', '#d0733b', '#c2408f', '#2f9fb3', '#7d8f2a'];
const EXTERNAL = '#5a6b7d';

const short = (id) => String(id ?? '').slice(0, 8);
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function deviceFor(port) {
  const owner = port.device_owner ?? '';
  const device = port.device_id ?? '';
  if (owner.startsWith('network:router_interface') || owner.startsWith('network:ha_router') || owner === 'network:router_ha_interface') {
    return { kind: 'router', title: `router ${short(device)}`, sub: 'router (not visible)' };
  }
  if (owner === 'network:dhcp') return { kind: 'dhcp', title: 'DHCP', sub: owner };
  if (owner.startsWith('compute:')) return { kind: 'instance', title: `instance ${short(device)}`, sub: owner };
  if (!device) return { kind: 'port', title: port.name || `port ${short(port.id)}`, sub: owner || 'not attached' };
  return { kind: 'device', title: `${owner || 'device'} ${short(device)}`, sub: owner };
}

/** The boxes of the picture: routers, then ports grouped by their device, then free floating IPs. */
export function devicesOf({ ports, routers, floatingips }) {
  const devices = new Map();
  for (const r of routers) {
    const gw = r.external_gateway_info;
    const links = gw
      ? [{ kind: 'gateway', id: `gw-${r.id}`, networkId: gw.network_id, ips: (gw.external_fixed_ips ?? []).map((f) => f.ip_address) }]
      : [];
    devices.set(r.id, { id: r.id, kind: 'router', title: r.name || `router ${short(r.id)}`, sub: `router · ${r.status}`, links, fips: [] });
  }
  const byPort = new Map();
  for (const p of ports) {
    // A router's gateway is drawn from the router; a floating IP's own port from the floating IP.
    if (p.device_owner === 'network:router_gateway' || p.device_owner === 'network:floatingip') continue;
    const key = p.device_id || `port-${p.id}`;
    let d = devices.get(key);
    if (!d) devices.set(key, (d = { id: key, ...deviceFor(p), links: [], fips: [] }));
    d.links.push({ kind: 'port', id: p.id, networkId: p.network_id, ips: (p.fixed_ips ?? []).map((f) => f.ip_address), status: p.status });
    byPort.set(p.id, d);
  }
  for (const f of floatingips) {
    const fip = { id: f.id, address: f.floating_ip_address, networkId: f.floating_network_id, fixed: f.fixed_ip_address };
    const d = f.port_id ? byPort.get(f.port_id) : undefined;
    if (d) d.fips.push(fip);
    else
      devices.set(`fip-${f.id}`, {
        id: `fip-${f.id}`,
        kind: 'floatingip',
        title: `floating IP ${f.floating_ip_address}`,
        sub: 'not associated',
        links: [],
        fips: [fip],
      });
  }
  return [...devices.values()];
}

function NetworkBar({ net, x, color, cidrs, height }) {
  const external = net['router:external'];
  return html`<g class="network" data-kind="network" data-id=${net.id} data-name=${net.name} data-external=${String(!!external)}>
    <title>${net.name || net.id}${external ? ' (external)' : ''}: ${cidrs.join(', ') || 'no subnet'}</title>
    <text class="name" x=${x - BAR_W / 2} y="14">${clip(net.name || short(net.id), 18)}${external ? ' ⇱' : ''}</text>
    ${cidrs.slice(0, 2).map((c, i) => html`<text class="cidr" x=${x - BAR_W / 2} y=${28 + i * 12}>${c}</text>`)}
    <rect x=${x - BAR_W / 2} y=${TOP - 12} width=${BAR_W} height=${height - TOP} rx="3" fill=${color} />
  </g>`;
}

/** The y of a device's n-th line (ports first, then floating IPs). */
const lineY = (y, n) => y + HEAD + n * ROW + 4;
const EDGE = BOX_X + BOX_W;

function Device({ d, y, height, xOf }) {
  return html`<g class=${`device ${d.kind}`} data-kind=${d.kind} data-id=${d.id}>
    <rect x=${BOX_X} y=${y} width=${BOX_W} height=${height} rx="4" />
    <text class="title" x=${BOX_X + 10} y=${y + 17}>${clip(d.title, 30)}</text>
    <text class="sub" x=${BOX_X + 10} y=${y + 31}>${clip(d.sub, 36)}</text>
    ${d.links.map((l, i) => {
      const x = xOf.get(l.networkId);
      const ly = lineY(y, i);
      return html`<g class="port" data-kind="port" data-id=${l.id} data-network=${l.networkId} data-status=${l.status ?? ''}>
        <text class="sub" x=${BOX_X + 10} y=${ly + 4}>${l.kind === 'gateway' ? 'gateway' : `port ${short(l.id)} · ${l.status}`}</text>
        ${
          x === undefined
            ? html`<text class="ip" x=${EDGE + 8} y=${ly + 4}>${l.ips.join(' ')} (network ${short(l.networkId)})</text>`
            : html`<line x1=${EDGE} y1=${ly} x2=${x} y2=${ly} />`
        }
      </g>`;
    })}
    ${d.fips.map((f, j) => {
      const x = xOf.get(f.networkId);
      const ly = lineY(y, d.links.length + j);
      return html`<g class="fip" data-kind="fip" data-id=${f.id} data-address=${f.address}>
        <text class="fiptext" x=${BOX_X + 10} y=${ly + 4}>floating IP ${f.address}${f.fixed ? ` → ${f.fixed}` : ''}</text>
        ${x === undefined ? null : html`<line x1=${EDGE} y1=${ly} x2=${x} y2=${ly} />`}
      </g>`;
    })}
  </g>`;
}

/** Where a device's lines meet their bars: drawn over the bars, which are drawn over the lines. */
function Joints({ d, y, xOf }) {
  const ports = d.links.map((l, i) => {
    const x = xOf.get(l.networkId);
    const ly = lineY(y, i);
    return x === undefined
      ? null
      : html`<circle cx=${x} cy=${ly} r="4" fill="#fff" stroke="#22303f" /><text class="ip" x=${x + 10} y=${ly - 3}>${l.ips.join(' ')}</text>`;
  });
  const fips = d.fips.map((f, j) => {
    const x = xOf.get(f.networkId);
    return x === undefined ? null : html`<text class="fiptext" x=${x + 10} y=${lineY(y, d.links.length + j) + 4}>${f.address}</text>`;
  });
  return html`<g class="joints">${ports}${fips}</g>`;
}

export function Topology({ data }) {
  const nets = [...data.networks].sort(
    (a, b) => Number(!!b['router:external']) - Number(!!a['router:external']) || (a.name ?? '').localeCompare(b.name ?? ''),
  );
  const xOf = new Map(nets.map((n, i) => [n.id, LEFT + i * BAR_GAP]));
  const cidrs = new Map();
  for (const s of data.subnets) (cidrs.get(s.network_id) ?? cidrs.set(s.network_id, []).get(s.network_id)).push(s.cidr);
  let y = TOP;
  const rows = devicesOf(data).map((d) => {
    const height = HEAD + (d.links.length + d.fips.length) * ROW;
    const row = { d, y, height };
    y += height + GAP;
    return row;
  });
  const height = Math.max(y, TOP + 60);
  const width = Math.max(LEFT + nets.length * BAR_GAP, BOX_X + BOX_W + 40);
  if (nets.length === 0 && rows.length === 0) return html`<p class="muted">No networks yet.</p>`;
  let colour = 0;
  return html`<svg id="topology" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="img" aria-label="network topology">
    ${rows.map((r) => html`<${Device} key=${r.d.id} d=${r.d} y=${r.y} height=${r.height} xOf=${xOf} />`)}
    ${nets.map(
      (n) =>
        html`<${NetworkBar} key=${n.id} net=${n} x=${xOf.get(n.id)} cidrs=${cidrs.get(n.id) ?? []} height=${height}
          color=${n['router:external'] ? EXTERNAL : COLORS[colour++ % COLORS.length]} />`,
    )}
    ${rows.map((r) => html`<${Joints} key=${r.d.id} d=${r.d} y=${r.y} xOf=${xOf} />`)}
  </svg>`;
}
