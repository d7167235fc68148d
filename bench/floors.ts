// The floors the API benchmark compares its port rows with, measured in the same run on the same
// machine (issue 14): what the parts under neutrino can do by themselves.
//
// - list: the database building the whole JSON body of the port list itself, one statement in
//   the fastest shape found for it (SQLite json_object/json_group_array + group_concat;
//   PostgreSQL each per-port list aggregated once and joined, text concatenated with to_json() +
//   string_agg; MariaDB JSON_OBJECT/JSON_ARRAYAGG + GROUP_CONCAT), on the server's own database
//   and rows, every attribute the server shows, in its order, so Node would only have to write
//   the string;
// - transactions: one-row write transactions per second on SQLite, in a file of its own with the
//   pragmas the server uses (WAL, synchronous NORMAL), one connection, back to back;
// - HTTP: a trivial Fastify route (GET / -> {}) in a child process of its own at the benchmark's
//   concurrency, with its CPU time per request from /proc as for the server (a server in the
//   benchmark's own process would share the client's thread).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { sql } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import { openDb, type Db } from '../src/db/connection.js';

const require = createRequire(import.meta.url);

export interface ListFloor {
  ms: number;
  bytes: number;
  /** The body the statement built, to compare with the server's. */
  body: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The statement that builds `{"ports": [...]}` for one network's ports, in `db`'s dialect: every
 * attribute the benchmark's server shows an admin (the core ones, then QoS, trunk details, the
 * port_attributes extensions and ip_allocation, in its order), sorted by id as the server sorts
 * them. On SQLite and PostgreSQL these are the very bytes the server sends (the benchmark compares
 * them).
 */
function listFloorQuery(db: Db, networkId: string) {
  if (db.dialect === 'postgres') {
    // Its fastest shape found: each per-port list aggregated once for all the network's ports and
    // joined by port (a correlated subquery per port and list costs a lookup and an aggregate each:
    // three times the time), and the text concatenated with to_json() escaping the strings
    // (json_build_object and row_to_json, which look up each value's type on every row, took 1.3
    // to 1.7 times as long, and write `"k" : v`). The server's own bytes. The session sorts the
    // body in memory (openListFloor).
    type Sql = ReturnType<typeof sql>;
    const ofNet = sql`(select n.id from ports n where n.network_id = ${networkId})`;
    const s = (e: Sql) => sql`coalesce(to_json((${e})::text)::text, 'null')`;
    const b = (e: Sql) => sql`(case when ${e} <> 0 then 'true' else 'false' end)`;
    const n = (e: Sql) => sql`(${e})::text`;
    const obj = (pairs: Array<[string, Sql]>) =>
      sql`(${sql.join(
        pairs.map(([k, v], i) => sql`${sql.lit(`${i ? ',' : '{'}${JSON.stringify(k)}:`)} || ${v}`),
        sql` || `,
      )} || '}')`;
    const agg = (alias: string, elem: Sql, table: string, t: string, orderBy: Sql, key = 'port_id') =>
      sql`left join (select ${sql.raw(`${t}.${key}`)} as k, '[' || string_agg(${elem}, ',' order by ${orderBy}) || ']' as v
        from ${sql.raw(table)} ${sql.raw(t)} where ${sql.raw(`${t}.${key}`)} in ${ofNet} group by ${sql.raw(`${t}.${key}`)}) ${sql.raw(alias)} on ${sql.raw(alias)}.k = p.id`;
    const arr = (alias: string) => sql`coalesce(${sql.raw(alias)}.v, '[]')`;
    const c = (name: string) => sql.raw(`p.${name}`);
    const port = obj([
      ['id', s(c('id'))],
      ['name', s(c('name'))],
      ['network_id', s(c('network_id'))],
      ['admin_state_up', b(c('admin_state_up'))],
      ['mac_address', s(c('mac_address'))],
      ['fixed_ips', arr('fi')],
      ['device_id', s(c('device_id'))],
      ['device_owner', s(c('device_owner'))],
      ['status', s(c('status'))],
      ['tenant_id', s(c('project_id'))],
      ['project_id', s(c('project_id'))],
      ['description', s(c('description'))],
      ['created_at', s(c('created_at'))],
      ['updated_at', s(c('updated_at'))],
      ['revision_number', n(c('revision_number'))],
      ['tags', arr('tg')],
      ['binding:host_id', s(c('binding_host_id'))],
      ['binding:vif_type', s(c('binding_vif_type'))],
      ['binding:vif_details', c('binding_vif_details')],
      ['binding:vnic_type', s(c('binding_vnic_type'))],
      [
        'binding:profile',
        sql`(case when pa.trusted is null then p.binding_profile else (p.binding_profile::jsonb || jsonb_build_object('trusted', pa.trusted <> 0))::text end)`,
      ],
      ['port_security_enabled', b(c('port_security_enabled'))],
      ['allowed_address_pairs', arr('ap')],
      ['extra_dhcp_opts', arr('eo')],
      ['security_groups', arr('sg')],
      ['qos_policy_id', s(sql`qp.policy_id`)],
      ['qos_network_policy_id', s(sql`qn.policy_id`)],
      ['resource_request', sql`'null'`],
      ['device_profile', s(sql`pa.device_profile`)],
      ['numa_affinity_policy', s(sql`pa.numa_affinity_policy`)],
      ['hints', sql`coalesce(pa.hints, 'null')`],
      ['trusted', sql`(case when pa.trusted is null then 'null' else ${b(sql`pa.trusted`)} end)`],
      ['propagate_uplink_status', b(sql`coalesce(pa.propagate_uplink_status, 1)`)],
      ['ip_allocation', s(sql`coalesce(pa.ip_allocation, 'immediate')`)],
    ]);
    const fixedIp = obj([
      ['subnet_id', s(sql`a.subnet_id`)],
      ['ip_address', s(sql`a.ip_address`)],
    ]);
    const pair = obj([
      ['ip_address', s(sql`x.ip_address`)],
      ['mac_address', s(sql`x.mac_address`)],
    ]);
    const opt = obj([
      ['opt_name', s(sql`o.opt_name`)],
      ['opt_value', s(sql`o.opt_value`)],
      ['ip_version', n(sql`o.ip_version`)],
    ]);
    return sql<{ body: string }>`select '{"ports":[' || coalesce(string_agg(j, ',' order by id), '') || ']}' as body from (select p.id, ${port} as j
    from ports p left join port_attributes pa on pa.port_id = p.id
    ${agg('fi', fixedIp, 'ip_allocations', 'a', sql`a.ctid`)}
    ${agg('tg', s(sql`t.tag`), 'tags', 't', sql`t.tag collate "C"`, 'resource_id')}
    ${agg('ap', pair, 'allowed_address_pairs', 'x', sql`x.mac_address, x.ip_address`)}
    ${agg('eo', opt, 'extra_dhcp_opts', 'o', sql`o.opt_name, o.ip_version`)}
    ${agg('sg', s(sql`g.security_group_id`), 'security_group_port_bindings', 'g', sql`g.security_group_id collate "C"`)}
    left join qos_port_policy_bindings qp on qp.port_id = p.id
    left join qos_network_policy_bindings qn on qn.network_id = p.network_id
    where p.network_id = ${networkId}) s`;
  }
  if (db.dialect === 'mysql') {
    const arr = (q: ReturnType<typeof sql>) => sql`coalesce((${q}), json_array())`;
    return sql<{ body: string }>`select concat('{"ports":[', coalesce(group_concat(json_object(
      'id', p.id, 'name', p.name, 'network_id', p.network_id, 'tenant_id', p.project_id,
      'admin_state_up', p.admin_state_up <> 0 is true, 'mac_address', p.mac_address,
      'fixed_ips', ${arr(sql`select json_arrayagg(json_object('subnet_id', a.subnet_id, 'ip_address', a.ip_address)) from ip_allocations a where a.port_id = p.id`)},
      'device_id', p.device_id, 'device_owner', p.device_owner, 'status', p.status, 'project_id', p.project_id,
      'description', p.description, 'created_at', p.created_at, 'updated_at', p.updated_at, 'revision_number', p.revision_number,
      'tags', ${arr(sql`select json_arrayagg(t.tag) from tags t where t.resource_id = p.id`)},
      'binding:host_id', p.binding_host_id, 'binding:vif_type', p.binding_vif_type, 'binding:vif_details', json_extract(p.binding_vif_details, '$'),
      'binding:vnic_type', p.binding_vnic_type, 'binding:profile', json_extract(p.binding_profile, '$'), 'port_security_enabled', p.port_security_enabled <> 0 is true,
      'allowed_address_pairs', ${arr(sql`select json_arrayagg(json_object('ip_address', x.ip_address, 'mac_address', x.mac_address)) from allowed_address_pairs x where x.port_id = p.id`)},
      'extra_dhcp_opts', ${arr(sql`select json_arrayagg(json_object('opt_name', o.opt_name, 'opt_value', o.opt_value, 'ip_version', o.ip_version)) from extra_dhcp_opts o where o.port_id = p.id`)},
      'security_groups', ${arr(sql`select json_arrayagg(b.security_group_id) from security_group_port_bindings b where b.port_id = p.id`)}
    ) separator ','), ''), ']}') as body from ports p where p.network_id = ${networkId}`;
  }
  const b = (e: ReturnType<typeof sql>) => sql`iif(${e}, json('true'), json('false'))`;
  // Trunk details only on a trunk's parent: its object with or without the member.
  const port = (trunk: ReturnType<typeof sql> | null) => sql`json_object(
    'id', p.id, 'name', p.name, 'network_id', p.network_id, 'admin_state_up', ${b(sql`p.admin_state_up`)}, 'mac_address', p.mac_address,
    'fixed_ips', (select json_group_array(json_object('subnet_id', a.subnet_id, 'ip_address', a.ip_address) order by a.rowid) from ip_allocations a where a.port_id = p.id),
    'device_id', p.device_id, 'device_owner', p.device_owner, 'status', p.status, 'tenant_id', p.project_id, 'project_id', p.project_id,
    'description', p.description, 'created_at', p.created_at, 'updated_at', p.updated_at, 'revision_number', p.revision_number,
    'tags', (select json_group_array(t.tag order by t.tag) from tags t where t.resource_id = p.id),
    'binding:host_id', p.binding_host_id, 'binding:vif_type', p.binding_vif_type, 'binding:vif_details', json(p.binding_vif_details),
    'binding:vnic_type', p.binding_vnic_type,
    'binding:profile', case when pa.trusted is null then json(p.binding_profile) else json_set(p.binding_profile, '$.trusted', ${b(sql`pa.trusted`)}) end,
    'port_security_enabled', ${b(sql`p.port_security_enabled`)},
    'allowed_address_pairs', (select json_group_array(json_object('ip_address', x.ip_address, 'mac_address', x.mac_address) order by x.mac_address, x.ip_address) from allowed_address_pairs x where x.port_id = p.id),
    'extra_dhcp_opts', (select json_group_array(json_object('opt_name', o.opt_name, 'opt_value', o.opt_value, 'ip_version', o.ip_version) order by o.opt_name, o.ip_version) from extra_dhcp_opts o where o.port_id = p.id),
    'security_groups', (select json_group_array(g.security_group_id order by g.security_group_id) from security_group_port_bindings g where g.port_id = p.id),
    'qos_policy_id', (select q.policy_id from qos_port_policy_bindings q where q.port_id = p.id),
    'qos_network_policy_id', (select q.policy_id from qos_network_policy_bindings q where q.network_id = p.network_id),
    'resource_request', null, ${trunk ? sql`'trunk_details', ${trunk},` : sql``}
    'device_profile', pa.device_profile, 'numa_affinity_policy', pa.numa_affinity_policy, 'hints', json(pa.hints),
    'trusted', case when pa.trusted is null then null else ${b(sql`pa.trusted`)} end,
    'propagate_uplink_status', ${b(sql`coalesce(pa.propagate_uplink_status, 1)`)},
    'ip_allocation', coalesce(pa.ip_allocation, 'immediate'))`;
  const trunk = sql`(select json_object('trunk_id', tr.id, 'sub_ports', (select json_group_array(json_object('segmentation_id', s.segmentation_id,
    'segmentation_type', s.segmentation_type, 'port_id', s.port_id, 'mac_address', (select sp.mac_address from ports sp where sp.id = s.port_id))
    order by s.segmentation_type, s.segmentation_id, s.port_id) from subports s where s.trunk_id = tr.id)) from trunks tr where tr.port_id = p.id)`;
  return sql<{ body: string }>`select '{"ports":[' || coalesce(group_concat(j, ','), '') || ']}' as body from (select
    case when ${trunk} is null then ${port(null)} else ${port(trunk)} end as j
    from ports p left join port_attributes pa on pa.port_id = p.id where p.network_id = ${networkId} order by p.id)`;
}

/** The list floor's statement, ready to run again and again on the server's database. */
export interface ListFloorRunner {
  /** One execution (fetching the text included): its wall time and the body it built. */
  run(): Promise<{ ms: number; body: string }>;
  close(): Promise<void>;
}

/** Opens the server's database at `url` for the list floor of network `networkId` (run once, unmeasured). */
export async function openListFloor(url: string, networkId: string): Promise<ListFloorRunner> {
  const db = openDb(url, 1);
  if (db.dialect === 'mysql') await sql`set session group_concat_max_len = 1073741824`.execute(db.kysely);
  // The body (11 MB for 10,000 ports) sorted in memory, not spilled to disk at the default 4 MB.
  if (db.dialect === 'postgres') await sql`set work_mem = '64MB'`.execute(db.kysely);
  const q = listFloorQuery(db, networkId);
  const reader = db.dialect === 'mysql' ? db.kysely : db.reader;
  const run = async () => {
    const t0 = performance.now();
    const body = (await q.execute(reader)).rows[0]?.body ?? '';
    return { ms: performance.now() - t0, body };
  };
  await run();
  return { run, close: () => db.close() };
}

/**
 * The list floor: the median time of `runs` executions of the statement above (after one
 * unmeasured), on the database at `url` (the server's own), including fetching the text.
 */
export async function measureListFloor(url: string, networkId: string, runs: number): Promise<ListFloor> {
  const floor = await openListFloor(url, networkId);
  try {
    let body = '';
    const times: number[] = [];
    for (let i = 0; i < Math.max(1, runs); i++) {
      const r = await floor.run();
      times.push(r.ms);
      body = r.body;
    }
    return { ms: median(times), bytes: body.length, body };
  } finally {
    await floor.close();
  }
}

/** One-row write transactions per second on SQLite with the server's pragmas (db/connection.ts). */
export function measureTxFloor(n: number): { perS: number; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-floor-'));
  try {
    const db = new SqliteDatabase(join(dir, 'floor.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 10000');
    db.exec('create table t (id varchar(36) primary key, name varchar(255) not null, created_at varchar(32) not null)');
    const begin = db.prepare('begin immediate');
    const insert = db.prepare('insert into t (id, name, created_at) values (?, ?, ?)');
    const commit = db.prepare('commit');
    const one = (i: number) => {
      begin.run();
      insert.run(`${i}`.padStart(36, '0'), `p${i}`, new Date().toISOString());
      commit.run();
    };
    for (let i = 0; i < Math.min(500, n); i++) one(-1 - i); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) one(i);
    const ms = (performance.now() - t0) / n;
    db.close();
    return { perS: 1000 / ms, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HttpFloor {
  perS: number;
  /** CPU time of the Fastify process per request. */
  cpuMs: number;
}

const FASTIFY_SERVER = `
const Fastify = require(process.argv[1]);
const app = Fastify();
app.get('/', async () => ({}));
app.listen({ host: '127.0.0.1', port: 0 }).then(() => process.stdout.write(String(app.server.address().port) + '\\n'));
`;

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Fastify's trivial-request rate at concurrency `c`: `n` keep-alive GETs (after n/4 unmeasured),
 * sent with `get` (the benchmark's own client).
 */
export async function measureHttpFloor(
  c: number,
  n: number,
  client: (endpoint: string) => { get: () => Promise<unknown>; close: () => void },
): Promise<HttpFloor> {
  const child = spawn(process.execPath, ['-e', FASTIFY_SERVER, require.resolve('fastify')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((res, rej) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) res(Number(out.trim()));
      });
      child.once('exit', () => rej(new Error('the Fastify floor server exited')));
    });
    const cl = client(`http://127.0.0.1:${port}`);
    const run = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (next++ < count) await cl.get();
        }),
      );
    };
    try {
      await run(Math.ceil(n / 4));
      const cpu0 = cpuMsOf(child.pid!);
      const t0 = performance.now();
      await run(n);
      const wall = performance.now() - t0;
      return { perS: (n / wall) * 1000, cpuMs: (cpuMsOf(child.pid!) - cpu0) / n };
    } finally {
      cl.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
}
