// The L2 agent's `log` extension ([agent] extensions = log): network logs of security group
// events (the logging service plugin's), written one line per packet to
// [network_log] local_output_log_base in the fields Neutron's log drivers print.
//
//   - which logs bind this host's filtered ports comes from the server (get_sg_log_info_for_ports
//     on logging-plugin), asked for new ports, for a port a port_update names, for every port when
//     a log changes (the server's push on neutron-vo-Log-1.0) and every resync interval;
//   - the firewall (firewall.ts) then puts, in the port's chains, a rate-limited nftables `log`
//     statement on the accept path of its rules (new connections only: established traffic
//     returns before them) and before its final drop, with a prefix naming this agent, the
//     action and the tap;
//   - the kernel writes those to its log, and a `dmesg --follow-new` child hands them to the
//     agent, which turns each into a line.
//
// Why the kernel log: NFLOG (`log group N`) needs a netlink socket, which Node cannot open without
// a native module, and ulogd2 would be one more daemon per host to configure and supervise; the
// kernel log is on every host and dmesg (util-linux) reads it. The cost: a namespace other than
// the first logs nothing unless net.netfilter.nf_log_all_netns is 1 (the agent says so), and the
// lines also show in dmesg.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { RpcRemoteError, type RpcHandlers, type RpcLogger } from '../../rpc/index.js';
import { PendingKeys } from '../reconciler.js';
import type { FirewallPort, LogSettings, PortLogEvents } from './firewall.js';

/** A log that binds a port, as the server says (get_sg_log_info_for_ports). */
export interface PortLogBinding {
  id: string;
  event: string;
  project_id: string;
}

export interface NetworkLogOptions {
  /** A call to the logging plugin (topic logging-plugin). */
  call<T>(method: string, args: Record<string, unknown>): Promise<T>;
  /** The agent's host and namespace: they make the prefix tag. */
  host: string;
  netns?: string;
  /** [network_log] rate_limit, burst_limit. */
  rate: number;
  burst: number;
  /** [network_log] local_output_log_base; unset: the agent's own log. */
  outputFile: string | null;
  logger: RpcLogger;
  /** Ask about every port again this often, seconds (default 60). */
  resyncInterval?: number;
}

/** One event the kernel logged: the action, the tap and the packet's fields (KEY=value). */
export interface KernelLogEvent {
  action: 'ACCEPT' | 'DROP';
  device: string;
  /** The link and IP header's fields, up to PROTO= (included). */
  fields: Record<string, string>;
  /** The transport header's fields, after PROTO= (ICMP's ID is not the IP header's). */
  l4: Record<string, string>;
  flags: string[];
}

/** Parses a kernel log line carrying `tag`'s prefix; null for any other line. */
export function parseKernelLogLine(line: string, tag: string): KernelLogEvent | null {
  const at = line.indexOf(`${tag} `);
  if (at < 0) return null;
  const m = /^(A|D) (tap\S+) (.*)$/.exec(line.slice(at + tag.length + 1));
  if (!m) return null;
  const fields: Record<string, string> = {};
  const l4: Record<string, string> = {};
  const flags: string[] = [];
  let into = fields;
  for (const tok of m[3]!.trim().split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq > 0) {
      const k = tok.slice(0, eq);
      // ICMP errors quote the packet they are about in [...]; the first value of a key is the packet's own.
      if (!(k in into)) into[k] = tok.slice(eq + 1);
      if (k === 'PROTO') into = l4;
    } else if (tok) flags.push(tok);
  }
  return { action: m[1] === 'A' ? 'ACCEPT' : 'DROP', device: m[2]!, fields, l4, flags };
}

const ETHERTYPES: Record<string, string> = { '08:00': '2048', '86:dd': '34525', '08:06': '2054' };
const PROTO_NUMBERS: Record<string, number> = { ICMP: 1, TCP: 6, UDP: 17, ICMPv6: 58, SCTP: 132 };

/** The packet, summarised in the shape of os_ken's packet repr that Neutron's OVS log driver prints. */
export function packetSummary(e: KernelLogEvent): string {
  const f = e.fields;
  const t = e.l4;
  const parts: string[] = [];
  const mac = f.MAC?.split(':') ?? [];
  if (mac.length >= 14) {
    const type = mac.slice(12, 14).join(':');
    parts.push(
      `ethernet(dst='${mac.slice(0, 6).join(':')}',ethertype=${ETHERTYPES[type] ?? `0x${mac.slice(12, 14).join('')}`},src='${mac.slice(6, 12).join(':')}')`,
    );
  }
  const proto = f.PROTO ?? '';
  const protoNum = PROTO_NUMBERS[proto] ?? (/^\d+$/.test(proto) ? Number(proto) : undefined);
  if (f.SRC && f.DST) {
    const v6 = f.SRC.includes(':');
    if (v6) parts.push(`ipv6(dst='${f.DST}',hop_limit=${f.HOPLIMIT ?? '?'},nxt=${protoNum ?? '?'},payload_length=${f.LEN ?? '?'},src='${f.SRC}')`);
    else parts.push(`ipv4(dst='${f.DST}',proto=${protoNum ?? '?'},src='${f.SRC}',total_length=${f.LEN ?? '?'},ttl=${f.TTL ?? '?'})`);
  }
  if (proto === 'TCP')
    parts.push(
      `tcp(bits=${JSON.stringify(e.flags.filter((x) => /^(SYN|ACK|FIN|RST|PSH|URG)$/.test(x)).join(','))},dst_port=${t.DPT},src_port=${t.SPT})`,
    );
  else if (proto === 'UDP' || proto === 'SCTP') parts.push(`${proto.toLowerCase()}(dst_port=${t.DPT},src_port=${t.SPT})`);
  else if (proto === 'ICMP' || proto === 'ICMPv6') {
    parts.push(`${proto === 'ICMP' ? 'icmp' : 'icmpv6'}(code=${t.CODE},type_=${t.TYPE}${t.ID ? `,id=${t.ID}` : ''}${t.SEQ ? `,seq=${t.SEQ}` : ''})`);
  }
  return parts.join(', ');
}

/** Python's repr of a list of strings, as Neutron prints log_resource_ids. */
const pyList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** oslo.log's time stamp, local time with milliseconds. */
function stamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export class NetworkLog {
  /** Port id → the enabled logs that bind it (ports asked about and bound by none: an empty list). */
  private readonly bindings = new Map<string, PortLogBinding[]>();
  /** Tap → port id, of the filtered ports of the last sync. */
  private readonly portOf = new Map<string, string>();
  private readonly stale = new PendingKeys<string>();
  private allStale = false;
  private lastResync = 0;
  /** After a failed ask, no other until then (ms): the firewall's passes never wait on a server without logs. */
  private quietUntil = 0;
  /** Whether the server answers get_sg_log_info_for_ports (neutrino's; else Neutron's per-port call); null until asked. */
  private batchServed: boolean | null = null;
  private reader: ChildProcess | null = null;
  private running = false;
  /** The output file's descriptor and inode (null: not open). */
  private out: { fd: number; ino: number } | null = null;
  private warnedNetns = false;
  readonly settings: LogSettings;
  /** Lines written since the start. */
  lines = 0;

  constructor(private readonly o: NetworkLogOptions) {
    const tag = createHash('sha256')
      .update(`${o.host}\0${o.netns ?? ''}`)
      .digest('hex')
      .slice(0, 8);
    this.settings = { tag: `nlog-${tag}`, rate: o.rate, burst: o.burst };
  }

  /** Handlers for LOG_PUSH_TOPIC: a log changed somewhere; `changed` asks the agent for a pass. */
  handlers(changed: () => void): RpcHandlers {
    return {
      push: () => {
        this.allStale = true;
        changed();
      },
    };
  }

  /** A port_update: its groups may have changed, so may the logs that bind it. */
  portUpdated(portId: string): void {
    this.stale.add(portId);
  }

  /**
   * Brings what the server says up to date for these filtered ports and returns, per tap, the
   * events to log; `changed` when that differs from the last sync's.
   */
  async sync(ports: readonly FirewallPort[], full: boolean): Promise<{ events: Map<string, PortLogEvents>; changed: boolean }> {
    const ids = ports.map((p) => p.id).filter((x): x is string => typeof x === 'string');
    const before = JSON.stringify([...this.eventsOf(ports)]);
    const resync = this.allStale || (full && Date.now() - this.lastResync >= (this.o.resyncInterval ?? 60) * 1000);
    const stale = this.stale.take();
    const need = ids.filter((id) => resync || !this.bindings.has(id) || stale.has(id));
    if (need.length && Date.now() >= this.quietUntil) {
      const all = resync;
      this.allStale = false;
      try {
        const got = await this.ask(need);
        for (const id of need) this.bindings.set(id, got.get(id) ?? []);
        if (all) this.lastResync = Date.now();
      } catch (err) {
        // Logging must not stop the firewall: the ports stay as they were (new ones unlogged) and
        // are asked about again after the resync interval.
        if (all) this.allStale = true;
        this.stale.putBack(need);
        this.quietUntil = Date.now() + (this.o.resyncInterval ?? 60) * 1000;
        this.o.logger.warn(
          { err: (err as Error).message, ports: need.length },
          'network log: the server did not say which logs bind the ports (is the log service plugin loaded?); asking again later',
        );
      }
    } else if (need.length) {
      this.stale.putBack(need.filter((id) => this.bindings.has(id)));
    }
    const keep = new Set(ids);
    for (const id of this.bindings.keys()) if (!keep.has(id)) this.bindings.delete(id);
    this.portOf.clear();
    for (const p of ports) if (p.id) this.portOf.set(p.device, p.id);
    const events = this.eventsOf(ports);
    if (events.size) await this.checkKernel();
    return { events, changed: JSON.stringify([...events]) !== before };
  }

  /**
   * The logs binding each port: in one call, or port by port from a server with only Neutron's
   * call. (Neutron's own server serves it in the `logging-plugin` RPC namespace, which this bus
   * does not send, and has no Linux-bridge log driver: against it, logging stays off.)
   */
  private async ask(portIds: string[]): Promise<Map<string, PortLogBinding[]>> {
    if (this.batchServed !== false) {
      try {
        const got = await this.o.call<Record<string, PortLogBinding[]>>('get_sg_log_info_for_ports', { port_ids: portIds });
        this.batchServed = true;
        return new Map(portIds.map((id) => [id, Array.isArray(got?.[id]) ? got[id]! : []]));
      } catch (err) {
        if (!(err instanceof RpcRemoteError && err.remoteType === 'NoSuchMethod')) throw err;
        this.batchServed = false;
      }
    }
    const out = new Map<string, PortLogBinding[]>();
    for (const id of portIds) {
      const logs = await this.o.call<Array<{ id: string; event: string; project_id: string }>>('get_sg_log_info_for_port', {
        port_id: id,
        resource_type: 'security_group',
      });
      out.set(
        id,
        (logs ?? []).map((l) => ({ id: l.id, event: l.event, project_id: l.project_id })),
      );
    }
    return out;
  }

  private eventsOf(ports: readonly FirewallPort[]): Map<string, PortLogEvents> {
    const out = new Map<string, PortLogEvents>();
    for (const p of ports) {
      const logs = (p.id && this.bindings.get(p.id)) || [];
      const accept = logs.some((l) => l.event === 'ACCEPT' || l.event === 'ALL');
      const drop = logs.some((l) => l.event === 'DROP' || l.event === 'ALL');
      if (accept || drop) out.set(p.device, { accept, drop });
    }
    return out;
  }

  /** Outside the first namespace the kernel logs only with nf_log_all_netns set: say so once. */
  private async checkKernel(): Promise<void> {
    if (!this.o.netns || this.warnedNetns) return;
    this.warnedNetns = true;
    const v = await readFile('/proc/sys/net/netfilter/nf_log_all_netns', 'utf8').catch(() => '');
    if (v.trim() !== '1') {
      this.o.logger.error(
        { netns: this.o.netns },
        'network logs of a namespace other than the first reach the kernel log only with net.netfilter.nf_log_all_netns = 1',
      );
    }
  }

  /** Starts reading the kernel log. */
  start(): void {
    this.running = true;
    this.startReader();
  }

  /**
   * Appends a line to the output file, reopening it when it was moved or deleted (logrotate), as
   * Python's WatchedFileHandler, which Neutron's log driver uses, does: a stat per line.
   */
  private write(file: string, line: string): void {
    let ino: number | null = null;
    try {
      ino = statSync(file).ino;
    } catch {
      // Gone: reopened below.
    }
    if (this.out && ino !== this.out.ino) {
      closeSync(this.out.fd);
      this.out = null;
    }
    if (!this.out) {
      mkdirSync(dirname(file), { recursive: true });
      const fd = openSync(file, 'a');
      this.out = { fd, ino: fstatSync(fd).ino };
    }
    writeSync(this.out.fd, line);
  }

  private startReader(): void {
    if (!this.running) return;
    const child = spawn('dmesg', ['--follow-new', '--kernel', '--notime'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.reader = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.onKernelLine(line));
    child.stderr!.on('data', (d: Buffer) => this.o.logger.warn({ err: d.toString().trim() }, 'dmesg'));
    child.on('error', (err) => this.o.logger.error({ err: err.message }, 'network log: cannot read the kernel log (dmesg)'));
    child.on('exit', () => {
      if (this.reader === child) this.reader = null;
      if (this.running) setTimeout(() => this.startReader(), 1000).unref();
    });
  }

  /** One kernel log line: ours becomes a log line, with the logs that bind the port now. */
  onKernelLine(line: string): void {
    const e = parseKernelLogLine(line, this.settings.tag);
    if (!e) return;
    const portId = this.portOf.get(e.device);
    if (!portId) return;
    const logs = (this.bindings.get(portId) ?? []).filter((l) => l.event === 'ALL' || l.event === e.action);
    if (!logs.length) return;
    const text = `action=${e.action} project_id=${logs[0]!.project_id} log_resource_ids=${pyList(logs.map((l) => l.id))} vm_port=${portId} pkt=${packetSummary(e)}`;
    this.lines++;
    if (!this.o.outputFile) {
      this.o.logger.info({}, text);
      return;
    }
    try {
      this.write(this.o.outputFile, `${stamp()} ${process.pid} INFO neutrino.agent.network_log [-] ${text}\n`);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message, file: this.o.outputFile }, 'network log: cannot write the log file');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reader?.kill();
    this.reader = null;
    if (this.out) closeSync(this.out.fd);
    this.out = null;
  }
}
