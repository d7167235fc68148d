// `neutrino db import-neutron`: a real Neutron (Debian's neutron-server, Zed) builds its schema in a
// fresh MariaDB database with neutron-db-manage, is filled through its own API, then neutrino
// imports that database into SQLite and serves it: every resource GET from both servers must be
// the same apart from the differences listed in DIFFERENCES, each with its reason. A database
// holding what neutrino cannot carry is refused with the reason, and nothing is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { BIN, freePort, spawnServer, writeIni, type ServerProcess } from '../helpers/process-server.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { api, compare, fill, ML2, PROJECT, type Api } from '../helpers/neutron-fill.js';

const HAVE_NEUTRON = existsSync('/usr/bin/neutron-server') && existsSync('/usr/bin/neutron-db-manage');
const DB = `neutron_import_test_${process.pid}`;
const FROM = `mysql+pymysql://root@127.0.0.1:3306/${DB}`;
async function mysql(q: string): Promise<void> {
  const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

describe('neutrino db import-neutron from a real Neutron', {
  skip: !HAVE_NEUTRON && 'neutron-server not installed (test/dataplane/install-deps.sh)',
}, () => {
  let dir: string;
  let neutronProc: ChildProcess | undefined;
  let neutronOut = '';
  let neutron: Api;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-import-'));
    await mysql(`DROP DATABASE IF EXISTS ${DB}`);
    await mysql(`CREATE DATABASE ${DB}`);
    const port = await freePort();
    const conf = writeIni(join(dir, 'neutron-source.conf'), {
      DEFAULT: {
        core_plugin: 'ml2',
        service_plugins: 'router,qos,trunk,segments',
        auth_strategy: 'noauth',
        // oslo.messaging's in-process driver: this Neutron has no agents, and must not talk on the shared RabbitMQ.
        transport_url: 'fake:/',
        bind_host: '127.0.0.1',
        bind_port: String(port),
        api_workers: '1',
        rpc_workers: '0',
        rpc_state_report_workers: '0',
        state_path: dir,
      },
      database: { connection: FROM },
      ...ML2,
      ml2: { ...ML2.ml2, mechanism_drivers: 'linuxbridge' },
      // Trunks need a mechanism driver that supports them; Zed calls Linux bridge experimental.
      experimental: { linuxbridge: 'true' },
      oslo_concurrency: { lock_path: dir },
    });
    // upgrade heads takes minutes on a loaded two-core machine: once for the whole file.
    const dbm = spawnSync('neutron-db-manage', ['--config-file', conf, 'upgrade', 'heads'], { encoding: 'utf8' });
    assert.equal(dbm.status, 0, dbm.stderr);
    neutronProc = spawn('neutron-server', ['--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    neutronProc.stdout!.on('data', (d) => (neutronOut += d));
    neutronProc.stderr!.on('data', (d) => (neutronOut = (neutronOut + d).slice(-20000)));
    neutron = api(`http://127.0.0.1:${port}`);
    await waitThroughErrors(
      'neutron-server to answer',
      async () => (await neutron.req('GET', '/networks')).networks !== undefined,
      240_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${neutronOut}`);
    });
    await fill(neutron);
  });

  after(async () => {
    neutronProc?.kill('SIGTERM');
    await mysql(`DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports everything, and neutrino serves it as Neutron did', async () => {
    const target = join(dir, 'neutrino');
    const conf = writeIni(join(dir, 'import.conf'), { DEFAULT: { state_path: target }, database: { connection: `sqlite:///${target}/neutrino.db` } });
    const r = spawnSync(BIN, ['db', 'import-neutron', '--from', FROM, '--config-file', conf], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^imported \d+ rows in [\d.]+ s: .*networks 4, network_segments 4, /);
    process.stdout.write(`# ${r.stdout}`);

    let server: ServerProcess | undefined;
    try {
      server = await spawnServer(target, {
        DEFAULT: { service_plugins: 'router,qos,trunk,segments' },
        database: { connection: `sqlite:///${target}/neutrino.db` },
        ...ML2,
      });
      const problems = await compare(neutron, api(server.url));
      assert.deepEqual(problems, []);
    } finally {
      await server?.kill();
    }
  });

  it('refuses what it cannot carry, naming it, and writes nothing', async () => {
    await mysql(
      `INSERT INTO ${DB}.standardattributes (resource_type, created_at, description, revision_number) VALUES ('subnetpools', NOW(), '', 0)`,
    );
    await mysql(`INSERT INTO ${DB}.subnetpools (project_id, id, name, ip_version, default_prefixlen, min_prefixlen, max_prefixlen, shared, default_quota, hash, address_scope_id, is_default, standard_attr_id)
      SELECT '${PROJECT}', 'f0000000-0000-4000-8000-000000000001', 'pool', 4, 24, 8, 32, 0, NULL, '', NULL, 0, MAX(id) FROM ${DB}.standardattributes`);
    try {
      const target = join(dir, 'refused');
      const conf = writeIni(join(dir, 'refused.conf'), {
        DEFAULT: { state_path: target },
        database: { connection: `sqlite:///${target}/neutrino.db` },
      });
      const r = spawnSync(BIN, ['db', 'import-neutron', '--from', FROM, '--config-file', conf], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /table subnetpools has 1 row\(s\): neutrino does not carry it/);
      const server = await spawnServer(target, { database: { connection: `sqlite:///${target}/neutrino.db` } });
      try {
        assert.deepEqual((await api(server.url).req('GET', '/networks')).networks, []);
      } finally {
        await server.kill();
      }
    } finally {
      await mysql(`DELETE FROM ${DB}.subnetpools`);
    }
  });
});

describe('neutrino db import-neutron: arguments', () => {
  it('wants --from, and a MySQL or PostgreSQL source', () => {
    const none = spawnSync(BIN, ['db', 'import-neutron'], { encoding: 'utf8' });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--from <Neutron database URL> is required/);
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-import-args-'));
    try {
      const conf = writeIni(join(dir, 'n.conf'), { DEFAULT: { state_path: dir }, database: { connection: `sqlite:///${dir}/n.db` } });
      const r = spawnSync(BIN, ['db', 'import-neutron', '--from', 'sqlite:////tmp/neutron.db', '--config-file', conf], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /a Neutron database is MySQL\/MariaDB or PostgreSQL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
