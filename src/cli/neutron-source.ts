// Read access to a Neutron database named by its SQLAlchemy URL (mysql+pymysql://, postgresql://),
// for `neutrino db import-neutron`. Times come back as Neutron stored them (naive UTC strings),
// never as Dates in this process's time zone; booleans as whatever the driver gives (0/1 or true/false).
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { parseConnectionUrl } from '../db/connection.js';

export type Row = Record<string, unknown>;

/** What the import will not do, said in full: printed without a stack, nothing written. */
export class ImportRefused extends Error {}

export interface NeutronSource {
  /** Table names of the schema. */
  tables(): Promise<string[]>;
  /** Every row of a table (a missing table gives none). */
  rows(table: string): Promise<Row[]>;
  count(table: string): Promise<number>;
  /** All reads see one snapshot (REPEATABLE READ, read only) until close. */
  close(): Promise<void>;
}

export async function openNeutronSource(url: string): Promise<NeutronSource> {
  const p = parseConnectionUrl(url);
  if (p.dialect === 'mysql') {
    const c = await createConnection({
      host: p.host,
      port: p.port ?? 3306,
      user: p.user,
      password: p.password,
      database: p.database,
      dateStrings: true,
      supportBigNumbers: true,
    });
    await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await c.query('START TRANSACTION READ ONLY');
    const tables = ((await c.query('SHOW TABLES'))[0] as Row[]).map((r) => String(Object.values(r)[0]));
    const have = new Set(tables);
    return {
      tables: async () => tables,
      rows: async (t) => (have.has(t) ? ((await c.query(`SELECT * FROM \`${t}\``))[0] as Row[]) : []),
      count: async (t) => (have.has(t) ? Number(((await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``))[0] as Row[])[0]!.n) : 0),
      close: async () => {
        await c.query('COMMIT').catch(() => undefined);
        await c.end();
      },
    };
  }
  if (p.dialect === 'postgres') {
    const types = {
      // timestamp without time zone (1114) and with (1184): keep the text, as MySQL's dateStrings does.
      getTypeParser: ((oid: number, format?: string) =>
        oid === 1114 || oid === 1184 ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    };
    const c = new pg.Client({ host: p.host, port: p.port ?? 5432, user: p.user, password: p.password, database: p.database, types });
    await c.connect();
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = (await c.query('SELECT tablename FROM pg_tables WHERE schemaname = current_schema()')).rows.map((r) => String(r.tablename));
    const have = new Set(tables);
    return {
      tables: async () => tables,
      rows: async (t) => (have.has(t) ? (await c.query(`SELECT * FROM "${t}"`)).rows : []),
      count: async (t) => (have.has(t) ? Number((await c.query(`SELECT COUNT(*) AS n FROM "${t}"`)).rows[0].n) : 0),
      close: async () => {
        await c.query('COMMIT').catch(() => undefined);
        await c.end();
      },
    };
  }
  throw new ImportRefused(`--from: a Neutron database is MySQL/MariaDB or PostgreSQL, not ${p.dialect}`);
}

/** Neutron's naive UTC DATETIME ("2026-12-07 09:58:00[.ffffff]") in neutrino's form (ISO, seconds, Z). */
export function isoTime(v: unknown): string {
  const s = String(v ?? '');
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(s);
  if (!m) throw new Error(`unreadable timestamp "${s}"`);
  return `${m[1]}T${m[2]}Z`;
}

export const bool = (v: unknown): number => (v === true || v === 1 || v === '1' || v === 't' ? 1 : 0);
