// A stand-in for Nova's metadata API, as test/e2e/metadata-*.root.test.ts play it: it answers a
// request only when X-Instance-ID-Signature is the HMAC-SHA256 of X-Instance-ID under the shared
// secret (as Nova checks it), with the instance id and project it was told, and keeps every
// request's headers for the test to read.
import { createHmac } from 'node:crypto';
import http from 'node:http';

export class FakeNova {
  readonly seen: http.IncomingHttpHeaders[] = [];
  private readonly server: http.Server;

  constructor(readonly secret: string) {
    this.server = http.createServer((req, res) => {
      this.seen.push(req.headers);
      const id = String(req.headers['x-instance-id'] ?? '');
      if (req.headers['x-instance-id-signature'] !== createHmac('sha256', this.secret).update(id).digest('hex')) {
        res.writeHead(403).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uuid: id, project_id: req.headers['x-tenant-id'] ?? null }));
    });
  }

  /** Listens on a free loopback port; returns it. */
  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return this.port;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
