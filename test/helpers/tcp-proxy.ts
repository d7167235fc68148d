// A TCP proxy a test controls, put between neutrino and a service it depends on (PostgreSQL,
// MariaDB, RabbitMQ) to make that service "go away" for neutrino alone: the shared service
// keeps running for everyone else. Written with node:net because it is twenty lines.
import net from 'node:net';

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private refusing = false;
  private holding = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (this.refusing) return void client.destroy();
      const upstream = net.connect(this.target.port, this.target.host);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      for (const [a, b] of [pair, [upstream, client] as const]) {
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.pairs.delete(pair);
          b.destroy();
        });
        a.pipe(b);
      }
      if (this.holding) for (const s of pair) s.pause();
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Connections open now. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Drops every proxied connection abruptly (no protocol goodbye): the service died. */
  cut(): void {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
  }

  /** New connections are closed at once (on) or proxied again (off). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** The service stops answering while connections stay open (on), or answers again (off). */
  hold(on: boolean): void {
    this.holding = on;
    for (const pair of this.pairs) for (const s of pair) on ? s.pause() : s.resume();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A URL (postgresql://, mysql+pymysql://, rabbit://) with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const m = /^([a-z0-9+]+:\/\/)([^@/]*@)?([^/]*)(.*)$/i.exec(url);
  if (!m) throw new Error(`cannot read host:port in ${url}`);
  return `${m[1]}${m[2] ?? ''}127.0.0.1:${proxy.port}${m[4]}`;
}

/** host and port of a URL (defaults given per scheme). */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const m = /^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:]*)(?::(\d+))?/i.exec(url);
  if (!m) throw new Error(`cannot read host:port in ${url}`);
  return { host: m[1] || '127.0.0.1', port: m[2] ? Number(m[2]) : defaultPort };
}
