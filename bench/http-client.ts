// What the port benchmarks that drive a server over HTTP share: a free TCP port for the server, a
// keep-alive JSON request that times itself, a fixed-concurrency runner and percentiles.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export const freePort = () =>
  new Promise<number>((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface Answer {
  status: number;
  /** Parsed JSON, the text of another body (/metrics), or null for an empty one. */
  body: any;
  ms: number;
}

export function request(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const sent = { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}) };
    const r = http.request(`${base}${path}`, { method, agent, headers: sent }, (resp) => {
      const chunks: Buffer[] = [];
      resp.on('data', (c) => chunks.push(c));
      resp.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const parsed = text === '' ? null : text[0] === '{' || text[0] === '[' ? JSON.parse(text) : text;
        res({ status: resp.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
      });
    });
    r.on('error', rej);
    r.end(data);
  });
}

/** Runs fn(0..n-1) with c at a time; resolves with the wall time in ms. */
export async function pool<T>(n: number, c: number, fn: (i: number) => Promise<T>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return performance.now() - t0;
}

/** The p-th percentile (0–100) of xs; NaN for none. */
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
