// The metadata agent (`neutrino agent metadata`, Neutron's neutron-metadata-agent): an HTTP
// server on a Unix socket (metadata_proxy_socket) that the per-namespace proxies forward to.
// For each request it finds the instance's port by the source address on the proxy's network
// (X-Neutron-Network-ID) or on the networks of its router (X-Neutron-Router-ID), through the
// server's get_ports on q-plugin, and forwards the request to Nova's metadata API with
// X-Instance-ID, X-Tenant-ID, X-Forwarded-For and the signature; Nova's answer goes back as
// Neutron's agent gives it (pageForNovaStatus in request.ts). Lookups are cached for a few seconds,
// as Neutron's agent caches them; a 404 from Nova retries once without the cache (a port that
// moved to another instance).
import { existsSync } from 'node:fs';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AGENT_TYPE_METADATA, PLUGIN_TOPIC } from '../../core/wire.js';
import { agentRpcContext, silentLogger, type RpcBus, type RpcLogger } from '../../rpc/index.js';
import { rpcVersion } from '../rpc-versions.js';
import { StateReporter } from '../state-reporter.js';
import type { AgentMetrics } from '../metrics.js';
import {
  errorPage,
  instancePortFilters,
  novaHeaders,
  pageForNovaStatus,
  requesterOf,
  routerPortFilters,
  type Page,
  type Requester,
} from './request.js';

export const METADATA_AGENT_BINARY = 'neutron-metadata-agent';

export interface MetadataAgentOptions {
  /** For get_ports (every worker process has its own) and the state reports. */
  bus: RpcBus;
  /** Where to count the answers ([agent] metrics_bind_port, or aio's server registry). */
  metrics?: AgentMetrics;
  host: string;
  socketPath: string;
  /** Socket file mode (Neutron's deduced mode for an agent running as root: 0644). */
  socketMode?: number;
  /** A node:cluster worker: the primary owns the socket file (and removed a stale one before forking). */
  sharedSocket?: boolean;
  backlog?: number;
  novaHost: string;
  novaPort: number;
  novaProtocol: 'http' | 'https';
  sharedSecret: string;
  /** Seconds a lookup is reused (Neutron's cache default_ttl); 0: none. */
  cacheTtl?: number;
  /** [agent] report_interval; 0 (or a worker process): no state reports. */
  reportInterval: number;
  rpcTimeoutMs?: number;
  logger?: RpcLogger;
}

interface PortRec {
  id: string;
  device_id: string;
  network_id: string;
  tenant_id?: string;
  project_id?: string;
}

/** A small TTL cache of lookups: the same instance asks for a dozen paths in a row at boot. */
class TtlCache<T> {
  private readonly m = new Map<string, { at: number; v: Promise<T> }>();
  constructor(private readonly ttlMs: number) {}
  get(key: string, skip: boolean, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.m.get(key);
    if (!skip && hit && now - hit.at < this.ttlMs) return hit.v;
    const v = load();
    if (this.ttlMs > 0) {
      this.m.set(key, { at: now, v });
      v.catch(() => this.m.delete(key));
      if (this.m.size > 10_000) for (const [k, e] of this.m) if (now - e.at >= this.ttlMs) this.m.delete(k);
    }
    return v;
  }
}

/** What the agent reports in its state's configurations, as Neutron's. */
export function metadataConfigurations(o: Pick<MetadataAgentOptions, 'socketPath' | 'novaHost' | 'novaPort'>): Record<string, unknown> {
  return { metadata_proxy_socket: o.socketPath, nova_metadata_host: o.novaHost, nova_metadata_port: o.novaPort, log_agent_heartbeats: false };
}

export class MetadataAgent {
  private server: http.Server | null = null;
  private reporter: StateReporter | null = null;
  private readonly log: RpcLogger;
  private readonly cache: TtlCache<PortRec[]>;
  private readonly novaAgent: http.Agent;
  /** Requests answered, by status, for tests and benchmarks. */
  readonly counters: Record<string, number> = {};

  constructor(private readonly o: MetadataAgentOptions) {
    this.log = o.logger ?? silentLogger;
    this.cache = new TtlCache((o.cacheTtl ?? 5) * 1000);
    this.novaAgent = new (o.novaProtocol === 'https' ? https.Agent : http.Agent)({ keepAlive: true });
  }

  configurations(): Record<string, unknown> {
    return metadataConfigurations(this.o);
  }

  /** Listens on the socket (a stale one from a previous run is removed first) and starts reporting. */
  async start(): Promise<void> {
    await this.listen();
    if (this.o.reportInterval > 0) {
      this.reporter = new StateReporter({
        bus: this.o.bus,
        agentType: AGENT_TYPE_METADATA,
        binary: METADATA_AGENT_BINARY,
        host: this.o.host,
        topic: 'N/A',
        reportInterval: this.o.reportInterval,
        configurations: () => this.configurations(),
        onError: (err) => this.log.warn({ err: (err as Error).message }, 'metadata agent state report failed'),
      });
      await this.reporter.reportOnce().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'first state report failed'));
      this.reporter.start();
    }
  }

  /** Only the HTTP side (a cluster worker: the primary reports state). */
  async listen(): Promise<void> {
    await mkdir(dirname(this.o.socketPath), { recursive: true, mode: 0o755 });
    // node:cluster workers share the primary's socket: only a lone process removes a stale one.
    if (existsSync(this.o.socketPath) && !this.o.sharedSocket) await unlink(this.o.socketPath);
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: this.o.socketPath, backlog: this.o.backlog ?? 4096 }, () => resolve());
    });
    await chmod(this.o.socketPath, this.o.socketMode ?? 0o644);
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.reporter?.stop();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.novaAgent.destroy();
  }

  private call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    // An admin context (Neutron's agent's), at MetadataPluginAPI's version.
    return this.o.bus.call<T>(PLUGIN_TOPIC, method, args, {
      context: agentRpcContext(),
      version: rpcVersion(method),
      timeoutMs: this.o.rpcTimeoutMs ?? 60_000,
    });
  }

  private getPorts(filters: Record<string, unknown>): Promise<PortRec[]> {
    return this.call<PortRec[]>('get_ports', { filters });
  }

  /** The instance's port, if exactly one matches (Neutron's _get_instance_and_tenant_id). */
  async findPort(r: Requester, skipCache = false): Promise<PortRec | null> {
    let networks: string[];
    if (r.networkId) networks = [r.networkId];
    else {
      const routerPorts = await this.cache.get(`router:${r.routerId}`, skipCache, () => this.getPorts(routerPortFilters(r.routerId!)));
      networks = [...new Set(routerPorts.map((p) => p.network_id))];
      if (!networks.length) return null;
    }
    const key = `ports:${networks.join(',')}:${r.mac ?? r.ip}`;
    const ports = await this.cache.get(key, skipCache, () => this.getPorts(instancePortFilters(r, networks)));
    return ports.length === 1 ? ports[0]! : null;
  }

  private count(status: number): void {
    this.counters[status] = (this.counters[status] ?? 0) + 1;
    this.o.metrics?.metadataAnswered(status);
  }

  private send(res: http.ServerResponse, p: Page): void {
    this.count(p.status);
    res.writeHead(p.status, { 'content-type': p.contentType, 'content-length': Buffer.byteLength(p.body) });
    res.end(p.body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const accept = req.headers.accept;
    try {
      const who = requesterOf(req.headers);
      if (!who) {
        this.log.debug({ headers: req.headers }, 'metadata request without a usable network/router id or address');
        this.send(res, errorPage(404, accept));
        return;
      }
      // The body is read once: a retry after a 404 resends it (instances POST only small bodies).
      const body = await readBody(req);
      let port = await this.findPort(who);
      if (!port) {
        this.send(res, errorPage(404, accept));
        return;
      }
      let answer = await this.forward(req, body, port, who);
      if (answer.status === 404) {
        const again = await this.findPort(who, true);
        if (again && again.device_id !== port.device_id) {
          answer.resume();
          port = again;
          answer = await this.forward(req, body, port, who);
        }
      }
      const page = pageForNovaStatus(answer.status, accept);
      if (page !== 'pass') {
        if (answer.status === 403)
          this.log.warn({ instance: port.device_id }, 'Nova metadata answered Forbidden: the shared secrets usually do not match');
        if (answer.status === 500) this.log.warn({ instance: port.device_id }, 'Nova metadata had an internal server error');
        answer.resume();
        this.send(res, page);
        return;
      }
      this.count(200);
      res.writeHead(200, { 'content-type': answer.headers['content-type'] ?? 'application/octet-stream' });
      await pipeline(answer.stream, res);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'metadata request failed');
      if (!res.headersSent) this.send(res, errorPage(500, accept));
      else res.destroy();
    }
  }

  /** The request to Nova with the instance's headers; resolves with the status and the body stream. */
  private forward(req: http.IncomingMessage, body: Buffer, port: PortRec, who: Requester): Promise<NovaAnswer> {
    const mod = this.o.novaProtocol === 'https' ? https : http;
    const headers: Record<string, string> = novaHeaders(port, who.ip, this.o.sharedSecret);
    if (body.length) {
      headers['content-length'] = String(body.length);
      if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    }
    return new Promise((resolve, reject) => {
      const out = mod.request(
        {
          host: this.o.novaHost,
          port: this.o.novaPort,
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers,
          agent: this.novaAgent,
          timeout: 60_000,
        },
        (r) => resolve({ status: r.statusCode ?? 500, headers: r.headers, stream: r, resume: () => r.resume() }),
      );
      out.on('timeout', () => out.destroy(new Error('Nova metadata request timed out')));
      out.on('error', reject);
      out.end(body);
    });
  }
}

interface NovaAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  stream: http.IncomingMessage;
  resume(): void;
}

/** Metadata requests are small (user data, a password POST); 1 MB is far above Nova's limits. */
async function readBody(req: http.IncomingMessage, max = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw new Error('metadata request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
