// `neutrino db import-neutron`: a real Neutron (Debian's neutron-server, Zed) builds its schema in a
// fresh MariaDB database with neutron-db-manage, is filled through its own API, then neutrino
// imports that database into SQLite and serves it: every resource GET from both servers must be
// the same apart from the differences listed in DIFFERENCES, each with its reason. A database
// holding what neutrino cannot carry is refused with the reason, and nothing is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, spawnServer, writeIni, type ServerProcess } from '../helpers/process-server.js';
import { HAVE_NEUTRON, mysql, startNeutronServer, type NeutronServer } from '../helpers/neutron-server.js';
import { api, compare, fill, ML2, PROJECT, type Api } from '../helpers/neutron-fill.js';

const DB = `neutron_import_test_${process.pid}`;

describe('neutrino db import-neutron from a real Neutron', {
  skip: !HAVE_NEUTRON && 'neutron-server not installed (test/dataplane/install-deps.sh)',
}, () => {
  let dir: string;
  let server: NeutronServer | undefined;
  let neutron: Api;
  let FROM = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-import-'));
    server = await startNeutronServer({
      dir,
      database: DB,
      ini: {
        DEFAULT: { service_plugins: 'router,qos,trunk,segments' },
        ...ML2,
        ml2: { ...ML2.ml2, mechanism_drivers: 'linuxbridge' },
        // Trunks need a mechanism driver that supports them; Zed calls Linux bridge experimental.
        experimental: { linuxbridge: 'true' },
      },
    });
    FROM = server.dbUrl;
    neutron = api(server.url);
    await fill(neutron);
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports everything, and neutrino serves it as Neutron did', async () => {
    const target = join(dir, 'neutrino');
    const conf = writeIni(join(dir, 'import.conf'), { DEFAULT: { state_path: target }, database: { connection: `sqlite:///${target}/neutrino.db` } });
    const r = spawnSync(BIN, ['db', 'import-neutron', '--from', FROM, '--config-file', conf], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^imported \d+ rows in [\d.]+ s: .*networks 4, network_segments 4, /);
    process.stdout.write(`# ${r.stdout}`);

    let ours: ServerProcess | undefined;
    try {
      ours = await spawnServer(target, {
        DEFAULT: { service_plugins: 'router,qos,trunk,segments' },
        database: { connection: `sqlite:///${target}/neutrino.db` },
        ...ML2,
      });
      const problems = await compare(neutron, api(ours.url));
      assert.deepEqual(problems, []);
    } finally {
      await ours?.kill();
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
