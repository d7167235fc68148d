// `neutrino db import-neutron`: a real Neutron (Debian's neutron-server, Zed) builds its schema in a
// fresh database with neutron-db-manage, once on MariaDB and once on PostgreSQL, is filled through
// its own API (agents, which only report_state would make, as rows), then neutrino imports that
// database into SQLite and serves it: every resource GET from both servers must be the same apart
// from the differences listed in DIFFERENCES, each with its reason. A database holding what
// neutrino cannot carry is refused with the reason, and nothing is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { BIN, spawnServer, writeIni, type ServerProcess } from '../helpers/process-server.js';
import { HAVE_NEUTRON, startNeutronServer, type NeutronServer } from '../helpers/neutron-server.js';
import { api, compare, fill, ML2, type Api } from '../helpers/neutron-fill.js';

// What both servers run: everything the importer carries has its plugin on each side.
const SERVICE_PLUGINS = 'router,qos,trunk,segments,metering,port_forwarding,network_segment_range';

/** Neutron's database on one backend: created empty, reachable by SQL, dropped after. */
interface Source {
  name: string;
  url: string;
  create(): Promise<void>;
  drop(): Promise<void>;
  sql(statement: string): Promise<void>;
  /** Quotes an identifier (`binary`, `load` are reserved words). */
  q(name: string): string;
}

function mysqlSource(): Source {
  const db = `neutron_import_test_${process.pid}`;
  const run = async (q: string, database?: string) => {
    const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', ...(database ? { database } : {}) });
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  return {
    name: 'MariaDB',
    url: `mysql+pymysql://root@127.0.0.1:3306/${db}`,
    create: async () => {
      await run(`DROP DATABASE IF EXISTS ${db}`);
      await run(`CREATE DATABASE ${db}`);
    },
    drop: () => run(`DROP DATABASE IF EXISTS ${db}`),
    sql: (q) => run(q, db),
    q: (n) => `\`${n}\``,
  };
}

function postgresSource(): Source {
  // A database of its own: neutron-db-manage builds Neutron's whole schema in it.
  const db = `neutron_src_${process.pid}`;
  const run = async (database: string, q: string) => {
    const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  return {
    name: 'PostgreSQL',
    url: `postgresql+psycopg2://postgres@127.0.0.1:5432/${db}`,
    create: async () => {
      await run('test', `DROP DATABASE IF EXISTS ${db}`);
      await run('test', `CREATE DATABASE ${db}`);
    },
    drop: () => run('test', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
    sql: (q) => run(db, q),
    q: (n) => `"${n}"`,
  };
}

// Both in CI; NEUTRINO_IMPORT_SOURCES=mariadb or postgresql picks one (each builds Neutron's schema, minutes).
const only = process.env.NEUTRINO_IMPORT_SOURCES?.toLowerCase();
for (const source of [mysqlSource(), postgresSource()].filter((s) => !only || only.split(',').includes(s.name.toLowerCase())))
  describe(`neutrino db import-neutron from a real Neutron on ${source.name}`, {
    skip: !HAVE_NEUTRON && 'neutron-server not installed (test/dataplane/install-deps.sh)',
  }, () => {
    const FROM = source.url;
    let dir: string;
    let server: NeutronServer | undefined;
    let neutron: Api;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'neutrino-import-'));
      await source.create();
      server = await startNeutronServer({
        dir,
        dbUrl: FROM,
        ini: {
          DEFAULT: { service_plugins: SERVICE_PLUGINS },
          ...ML2,
          ml2: { ...ML2.ml2, mechanism_drivers: 'linuxbridge' },
          // Trunks need a mechanism driver that supports them; Zed calls Linux bridge experimental.
          experimental: { linuxbridge: 'true' },
        },
      });
      neutron = api(server.url);
      await fill(neutron, source.sql, source.q);
    });

    after(async () => {
      await server?.stop();
      await source.drop().catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('imports everything, and neutrino serves it as Neutron did', async () => {
      const target = join(dir, 'neutrino');
      const conf = writeIni(join(dir, 'import.conf'), {
        DEFAULT: { state_path: target },
        database: { connection: `sqlite:///${target}/neutrino.db` },
      });
      const r = spawnSync(BIN, ['db', 'import-neutron', '--from', FROM, '--config-file', conf], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^imported \d+ rows in [\d.]+ s: /);
      // What this session carries, as Neutron made it (the HA router's network and two agents' ports).
      for (const want of [
        'agents 2',
        'address_scopes 2',
        'subnetpools 1',
        'subnetpool_prefixes 1', // Neutron merges the two adjacent /16s into one /15
        'address_groups 1',
        'address_associations 2',
        'network_segment_ranges 2',
        'ha_router_networks 1',
        'ha_router_vrid_allocations 1',
        'ha_router_agent_port_bindings 2',
        'routerl3agentbindings 2',
        'portforwardings 2',
        'metering_labels 2',
        'metering_label_rules 2',
      ])
        assert.ok(r.stdout.includes(`${want},`) || r.stdout.trim().endsWith(want), `${want} in: ${r.stdout}`);
      process.stdout.write(`# ${r.stdout}`);

      let ours: ServerProcess | undefined;
      try {
        ours = await spawnServer(target, {
          DEFAULT: { service_plugins: SERVICE_PLUGINS },
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
      // Flavors are not carried (a router with one is refused too).
      await source.sql(
        `INSERT INTO flavors (id, name, description, enabled, service_type) VALUES ('f0000000-0000-4000-8000-000000000001', 'gold', '', true, 'L3_ROUTER_NAT')`,
      );
      try {
        const target = join(dir, 'refused');
        const conf = writeIni(join(dir, 'refused.conf'), {
          DEFAULT: { state_path: target },
          database: { connection: `sqlite:///${target}/neutrino.db` },
        });
        const r = spawnSync(BIN, ['db', 'import-neutron', '--from', FROM, '--config-file', conf], { encoding: 'utf8' });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /table flavors has 1 row\(s\): neutrino does not carry it/);
        const server = await spawnServer(target, { database: { connection: `sqlite:///${target}/neutrino.db` } });
        try {
          assert.deepEqual((await api(server.url).req('GET', '/networks')).networks, []);
        } finally {
          await server.kill();
        }
      } finally {
        await source.sql(`DELETE FROM flavors`);
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
