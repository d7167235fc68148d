// What one log line costs on the request path: the access line every request writes at INFO
// (pino's JSON, parsed back and rewritten in oslo.log's format or use_json's), against pino's own
// JSON line, each written to a file. Prints microseconds of CPU per line.
//
//   npm run build && node dist/bench/log-bench.js [--lines 200000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { intOption, parseOptions } from '../src/config/command-line.js';
import { getLogger, setupLogging } from '../src/core/log.js';

const { values } = parseOptions(process.argv.slice(2), { lines: { type: 'string' } } as const, 'usage: log-bench [--lines N]', (m) => new Error(m));
const lines = intOption(values.lines, 'lines', 1, 200_000);
const dir = mkdtempSync(join(tmpdir(), 'neutrino-log-bench-'));

type Log = { info(o: object, m: string): void };
function measure(name: string, log: Log): void {
  const ctx = { reqId: 'req-8f0e4c0a-2b1d-4b7e-9d55-0c3f7a4e6b21' };
  const child = (log as { child?: (b: object) => Log }).child?.(ctx) ?? log;
  const msg = (i: number) => `127.0.0.1 "GET /v2.0/ports/${i} HTTP/1.1" status: 200  len: 812 time: 0.0012345`;
  for (let i = 0; i < 20_000; i++) child.info({ user: 'u', project: 'p' }, msg(i)); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < lines; i++) child.info({ user: 'u', project: 'p' }, msg(i));
  const t = process.cpuUsage(t0);
  process.stdout.write(`${name.padEnd(34)} ${((t.user + t.system) / lines).toFixed(2)} us CPU per line\n`);
}

try {
  measure('pino JSON (before)', pino({ base: null }, pino.destination({ dest: join(dir, 'pino.log'), sync: true })));
  setupLogging({ debug: false, json: false, binary: 'bench', file: join(dir, 'text.log') });
  measure('oslo.log text', getLogger('neutrino.api'));
  setupLogging({ debug: false, json: true, binary: 'bench', file: join(dir, 'json.log') });
  measure('oslo.log JSON (use_json)', getLogger('neutrino.api'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
