// `neutrino status`: the neutron-status upgrade check table and exit codes (0/1/2) on each
// database backend: a fresh database fails, after `db upgrade` it succeeds, a silent agent warns;
// a typo'd option is named with file, line, section and the nearest known name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/db/connection.js';
import { MIGRATIONS } from '../../src/db/migrate.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';
import { BIN } from '../helpers/process-server.js';
import { RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';

interface Status {
  code: number | null;
  /** The table's text with the wrapping undone: "Check: X Result: Y Details: ..." per check. */
  checks: Record<string, string>;
  raw: string;
}

function status(...files: string[]): Status {
  const r = spawnSync(BIN, ['status', ...files.flatMap((f) => ['--config-file', f])], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^\+-+\+\n\| Upgrade Check Results +\|\n/);
  const checks: Record<string, string> = {};
  for (const cell of r.stdout.split(/\n\+-+\+\n/).slice(1)) {
    const text = cell
      .split('\n')
      .filter((l) => l.startsWith('| '))
      .map((l) => l.slice(2, -1).trim())
      .join(' ');
    const name = /^Check: (.+?) Result:/.exec(text)?.[1];
    if (name) checks[name] = text;
  }
  return { code: r.status, checks, raw: r.stdout };
}

describe('neutrino status', () => {
  for (const backend of BACKENDS) {
    it(`${backend.name}: a fresh database fails, after db upgrade it succeeds, a silent agent warns`, async (t) => {
      const skip = await skipUnless(backend);
      if (skip) return t.skip(skip);
      const { url, drop } = await backend.create();
      const d = mkdtempSync(join(tmpdir(), 'status-'));
      try {
        const conf = join(d, 'neutron.conf');
        writeFileSync(conf, `[DEFAULT]\nstate_path = ${d}\nagent_down_time = 60\n[database]\nconnection = ${url}\n`);
        if (backend.name === 'sqlite') writeFileSync(url.replace('sqlite:///', '/'), ''); // an empty file: reachable, not upgraded

        const fresh = status(conf);
        assert.equal(fresh.code, 2, fresh.raw);
        const all = Object.keys(MIGRATIONS);
        assert.ok(fresh.checks.Database!.includes(`${all.length} migration(s) not applied (${all.join(', ')}); run neutrino db upgrade`), fresh.raw);
        assert.match(fresh.checks.Database!, /Result: Failure/);
        assert.match(fresh.checks.Configuration!, /Result: Success Details: None/);
        assert.match(fresh.checks['Message bus']!, /Result: Success/);

        const up = spawnSync(BIN, ['db', 'upgrade', '--config-file', conf], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const ready = status(conf);
        assert.equal(ready.code, 0, ready.raw);
        assert.match(ready.checks.Database!, /Result: Success Details: .*at head/);
        assert.match(ready.checks.Agents!, /Result: Success Details: no agents registered/);

        const db = openDb(url);
        try {
          await registerLinuxBridgeAgent(db, 'status-host-a', '192.0.2.1');
          assert.equal(status(conf).code, 0);
          await db.kysely.updateTable('agents').set({ heartbeat_timestamp: '2020-01-01T00:00:00Z' }).execute();
        } finally {
          await db.close();
        }
        const silent = status(conf);
        assert.equal(silent.code, 1, silent.raw);
        assert.match(
          silent.checks.Agents!,
          /Result: Warning Details: 1 of 1 agent\(s\) down .*agent_down_time = 60s\).* on status-host-a \(last heartbeat 2020-01-01T00:00:00Z\)/,
        );
      } finally {
        rmSync(d, { recursive: true, force: true });
        await drop();
      }
    });
  }

  it("names a typo'd option with file, line, section and the nearest known name; ignores other services' sections", () => {
    const d = mkdtempSync(join(tmpdir(), 'status-typo-'));
    try {
      const conf = join(d, 'neutron.conf');
      writeFileSync(conf, `[DEFAULT]\nstate_path = ${d}\n\n[nova]\nauth_url = http://x\n`);
      const ml2 = join(d, 'ml2_conf.ini');
      writeFileSync(ml2, '[ml2]\ntype_drivers = flat\nmechanism_driver = linuxbridge\n[ml2_type_vlanx]\nnetwork_vlan_ranges = physnet1\n');
      const r = status(conf, ml2);
      assert.equal(r.code, 2, r.raw); // no database: Failure outweighs the Warning
      const c = r.checks.Configuration!;
      assert.match(c, /Result: Warning/);
      assert.ok(c.includes(`${ml2}:3: [ml2] mechanism_driver: unknown option (did you mean [ml2] mechanism_drivers?)`), c);
      assert.ok(c.includes(`${ml2}:5: [ml2_type_vlanx] network_vlan_ranges: unknown option (did you mean [ml2_type_vlan] network_vlan_ranges?)`), c);
      assert.doesNotMatch(c, /nova|type_drivers/);
      assert.match(r.checks.Database!, /Result: Failure Details: SQLite database .* does not exist; run neutrino db upgrade/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a transport_url nobody answers fails the Message bus check', () => {
    const d = mkdtempSync(join(tmpdir(), 'status-bus-'));
    try {
      const conf = join(d, 'neutron.conf');
      writeFileSync(conf, `[DEFAULT]\nstate_path = ${d}\ntransport_url = rabbit://guest:secret@127.0.0.1:1/\n`);
      const r = status(conf);
      assert.equal(r.code, 2);
      assert.match(
        r.checks['Message bus']!,
        /Result: Failure Details: rabbit:\/\/guest:\*\*\*@127\.0\.0\.1:1\/ not reachable: 127\.0\.0\.1:1: .*ECONNREFUSED/,
      );
      assert.doesNotMatch(r.raw, /secret/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a RabbitMQ that answers passes the Message bus check', async (t) => {
    const skip = await skipUnlessRabbit();
    if (skip) return t.skip(skip);
    const d = mkdtempSync(join(tmpdir(), 'status-rabbit-'));
    try {
      const conf = join(d, 'neutron.conf');
      writeFileSync(conf, `[DEFAULT]\nstate_path = ${d}\ntransport_url = ${RABBIT_URL}\n`);
      const r = status(conf);
      assert.match(r.checks['Message bus']!, /Result: Success Details: rabbit:\/\/.* answers/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
