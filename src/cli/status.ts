// `neutrino status --config-file ...`, like `neutron-status upgrade check` (oslo.upgradecheck):
// runs each check, prints the results table and exits with the worst result: 0 Success,
// 1 Warning, 2 Failure.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import amqp from 'amqplib';
import { ConfigError, loadConfig, unknownOptions, type Config } from '../config/index.js';
import { parseOptions } from '../config/command-line.js';
import { openDb, parseConnectionUrl } from '../db/connection.js';
import { appliedMigrations, MIGRATIONS } from '../db/migrate.js';
import { isoAt } from '../plugins/agents/agents.js';
import { parseTransportUrl, redactTransportUrl } from '../rpc/index.js';
import { databaseUrl } from '../server/settings.js';

export type CheckCode = 0 | 1 | 2;
const RESULT = ['Success', 'Warning', 'Failure'] as const;

export interface CheckResult {
  check: string;
  code: CheckCode;
  details: string | null;
}

const ok = (check: string, details: string | null = null): CheckResult => ({ check, code: 0, details });
const warn = (check: string, details: string): CheckResult => ({ check, code: 1, details });
const fail = (check: string, details: string): CheckResult => ({ check, code: 2, details });

const USAGE = `usage: neutrino status [--config-file FILE ...]

Checks the deployment as neutron-status upgrade check does: configuration, database (reachable,
all migrations applied), message bus, agents' heartbeats. Exits 0 (Success), 1 (Warning), 2 (Failure).
`;

function configCheck(files: readonly string[]): CheckResult {
  const problems = unknownOptions(files).map(
    (u) => `${u.file}:${u.line}: [${u.section}] ${u.name}: unknown option${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`,
  );
  return problems.length ? warn('Configuration', problems.join('\n')) : ok('Configuration');
}

async function databaseAndAgentChecks(cfg: Config): Promise<CheckResult[]> {
  const url = databaseUrl(cfg);
  const parsed = parseConnectionUrl(url);
  // Opening a SQLite file that is not there would create it: report it missing instead.
  if (parsed.dialect === 'sqlite' && parsed.file !== ':memory:' && !existsSync(parsed.file!)) {
    const why = `SQLite database ${resolve(parsed.file!)} does not exist; run neutrino db upgrade`;
    return [fail('Database', why), fail('Agents', 'not checked: no database')];
  }
  const db = openDb(url, 1);
  try {
    let applied: { name: string }[] | null;
    try {
      applied = await appliedMigrations(db.kysely);
    } catch (err) {
      return [fail('Database', `${db.describe} not reachable: ${(err as Error).message}`), fail('Agents', 'not checked: no database')];
    }
    const done = new Set((applied ?? []).map((m) => m.name));
    const pending = Object.keys(MIGRATIONS).filter((m) => !done.has(m));
    const unknown = [...done].filter((m) => !Object.hasOwn(MIGRATIONS, m));
    if (pending.length) {
      const why = `${db.describe}: ${pending.length} migration(s) not applied (${pending.join(', ')}); run neutrino db upgrade`;
      return [fail('Database', why), fail('Agents', 'not checked: database not at head')];
    }
    const database = unknown.length
      ? warn('Database', `${db.describe}: migrations unknown to this neutrino (a newer version?): ${unknown.join(', ')}`)
      : ok('Database', `${db.describe}: at head (${Object.keys(MIGRATIONS).at(-1)})`);
    return [database, await agentsCheck(cfg, db.kysely)];
  } finally {
    await db.close();
  }
}

async function agentsCheck(cfg: Config, kysely: ReturnType<typeof openDb>['kysely']): Promise<CheckResult> {
  const rows = await kysely.selectFrom('agents').select(['agent_type', 'host', 'heartbeat_timestamp', 'admin_state_up']).execute();
  if (rows.length === 0) return ok('Agents', 'no agents registered');
  const cutoff = isoAt(Date.now() - cfg.DEFAULT.agent_down_time * 1000);
  const dead = rows.filter((r) => r.heartbeat_timestamp < cutoff);
  if (dead.length === 0) return ok('Agents', `${rows.length} agent(s) alive`);
  const list = dead.map((r) => `${r.agent_type} on ${r.host} (last heartbeat ${r.heartbeat_timestamp})`).join('\n');
  return warn(
    'Agents',
    `${dead.length} of ${rows.length} agent(s) down (no heartbeat within agent_down_time = ${cfg.DEFAULT.agent_down_time}s):\n${list}`,
  );
}

async function busCheck(cfg: Config): Promise<CheckResult> {
  const raw = cfg.DEFAULT.transport_url;
  if (!raw) return ok('Message bus', 'no transport_url: the in-process bus');
  let url: ReturnType<typeof parseTransportUrl>;
  try {
    url = parseTransportUrl(raw);
  } catch (err) {
    return fail('Message bus', (err as Error).message);
  }
  if (url.driver === 'memory') return ok('Message bus', 'in-process bus');
  const errors: string[] = [];
  for (const host of url.hosts) {
    try {
      const conn = await amqp.connect(
        {
          protocol: url.tls ? 'amqps' : 'amqp',
          hostname: host.hostname,
          port: host.port,
          username: host.username,
          password: host.password,
          vhost: url.virtualHost,
        },
        { timeout: 5000 },
      );
      await conn.close();
      return ok('Message bus', `${redactTransportUrl(raw)}: ${host.hostname}:${host.port} answers`);
    } catch (err) {
      errors.push(`${host.hostname}:${host.port}: ${(err as Error).message}`);
    }
  }
  return fail('Message bus', `${redactTransportUrl(raw)} not reachable: ${errors.join('; ')}`);
}

export async function runChecks(files: readonly string[]): Promise<CheckResult[]> {
  let cfg: Config;
  let config: CheckResult;
  try {
    cfg = loadConfig(files); // first: it names an unreadable file as a ConfigError
    config = configCheck(files);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [fail('Configuration', err.message), fail('Database', 'not checked: configuration'), fail('Message bus', 'not checked: configuration')];
  }
  return [config, ...(await databaseAndAgentChecks(cfg)), await busCheck(cfg)];
}

/** Word-wraps to oslo.upgradecheck's 60 columns; a longer word (a path) keeps its own line. */
function wrap(text: string, width = 60): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out;
}

/** oslo.upgradecheck's table: one column, a "Check / Result / Details" cell per check (hand-written: 20 lines). */
export function formatResults(results: readonly CheckResult[]): string {
  const cells = results.map((r) => [`Check: ${r.check}`, `Result: ${RESULT[r.code]}`, ...wrap(`Details: ${r.details ?? 'None'}`)]);
  const width = Math.max('Upgrade Check Results'.length, ...cells.flat().map((l) => l.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  const row = (l: string) => `| ${l.padEnd(width)} |`;
  const lines = [rule, row('Upgrade Check Results'), rule];
  for (const c of cells) lines.push(...c.map(row), rule);
  return `${lines.join('\n')}\n`;
}

export async function runStatus(argv: string[]): Promise<number> {
  const spec = { 'config-file': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } as const;
  const { values, positionals } = parseOptions(argv, spec, USAGE, (m) => new ConfigError(m, {}));
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length) throw new ConfigError(`unexpected argument "${positionals.join(' ')}"\n\n${USAGE}`, {});
  const results = await runChecks((values['config-file'] ?? []).map((f) => resolve(f)));
  process.stdout.write(formatResults(results));
  return Math.max(0, ...results.map((r) => r.code));
}
