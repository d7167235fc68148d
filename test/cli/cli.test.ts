// The `neutrino` command as a user runs it: aio serves the API, db upgrade migrates, and a bad
// config value stops start-up with an error naming file, section and option.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { waitThroughErrors } from '../helpers/wait.js';

const BIN = resolve('bin/neutrino');

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

describe('neutrino command', () => {
  it('aio serves the API on the given port and state path; two instances run side by side', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'aio-a-')), mkdtempSync(join(tmpdir(), 'aio-b-'))];
    const ports = [await freePort(), await freePort()];
    const procs = dirs.map((d, i) =>
      spawn(BIN, ['aio', '--bind-host', '127.0.0.1', '--bind-port', String(ports[i]), '--state-path', d], { stdio: 'ignore' }),
    );
    try {
      for (let i = 0; i < 2; i++) {
        const url = `http://127.0.0.1:${ports[i]}/v2.0/networks`;
        const r = await waitThroughErrors(url, () => fetch(url), 60_000, 100);
        assert.equal(r.status, 200);
        const created = await fetch(`http://127.0.0.1:${ports[i]}/v2.0/networks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ network: { name: `aio-${i}` } }),
        });
        assert.equal(created.status, 201);
        assert.ok(existsSync(join(dirs[i]!, 'neutrino.sqlite')));
      }
      const a = (await (await fetch(`http://127.0.0.1:${ports[0]}/v2.0/networks`)).json()) as { networks: Array<{ name: string }> };
      assert.deepEqual(
        a.networks.map((n) => n.name),
        ['aio-0'],
      );
      // No [aio] agents: the API only, even as root (no agent touches the kernel).
      const agents = (await (await fetch(`http://127.0.0.1:${ports[0]}/v2.0/agents`)).json()) as { agents: unknown[] };
      assert.deepEqual(agents.agents, []);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('db upgrade creates the schema once and reports it up to date afterwards', () => {
    const d = mkdtempSync(join(tmpdir(), 'dbup-'));
    try {
      const conf = join(d, 'neutron.conf');
      writeFileSync(conf, `[database]\nconnection = sqlite:///${join(d, 'x.sqlite')}\n`);
      const first = spawnSync(BIN, ['db', 'upgrade', '--config-file', conf], { encoding: 'utf8' });
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /applied: 001_core/);
      // Progress: each migration named as it starts, in order, before the summary.
      const running = [...first.stdout.matchAll(/^running migration (\d{3}_\w+) \(\d+\.\d s\)$/gm)].map((m) => m[1]);
      assert.equal(running[0], '001_core');
      assert.deepEqual(running, first.stdout.match(/^applied: (.*)$/m)![1]!.split(', '));
      const second = spawnSync(BIN, ['db', 'upgrade', '--config-file', conf], { encoding: 'utf8' });
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /up to date/);
      assert.doesNotMatch(second.stdout, /running migration/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a bad option value stops start-up naming file, section and option', async () => {
    const port = String(await freePort());
    const d = mkdtempSync(join(tmpdir(), 'badconf-'));
    try {
      const conf = join(d, 'neutron.conf');
      writeFileSync(conf, '[DEFAULT]\nbind_port = abc\n');
      const r = spawnSync(BIN, ['server', '--config-file', conf], { encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\[DEFAULT\\] bind_port`));
      const agents = spawnSync(BIN, ['aio', '--agents', 'linuxbridge,bogus', '--bind-host', '127.0.0.1', '--bind-port', port, '--state-path', d], {
        encoding: 'utf8',
      });
      assert.equal(agents.status, 2);
      assert.match(agents.stderr, /\[aio\] agents: unknown agent "bogus" \(choose from linuxbridge, dhcp, l3, metadata\)/);
      // The L3 agent refuses what it does not implement, naming the option.
      for (const [line, message] of [
        ['agent_mode = dvr', /\[DEFAULT\] agent_mode = dvr: the L3 agent only implements legacy/],
        ['interface_driver = openvswitch', /\[DEFAULT\] interface_driver = openvswitch: the L3 agent only has the linuxbridge driver/],
        ['min_rtr_adv_interval = 80', /\[DEFAULT\] min_rtr_adv_interval = 80: at most 0.75 × max_rtr_adv_interval \(100\)/],
        ['ha_vrrp_advert_int = 0.5\nha_vrrp_auth_password = s', /\[DEFAULT\] ha_vrrp_advert_int = 0.5: a fraction of a second needs VRRPv3/],
      ] as const) {
        writeFileSync(join(d, 'l3.ini'), `[DEFAULT]\n${line}\nstate_path = ${d}\n[agent]\nreport_interval = 0\n`);
        const l3 = spawnSync(BIN, ['agent', 'l3', '--config-file', join(d, 'l3.ini')], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(l3.status, 2, l3.stderr);
        assert.match(l3.stderr, message);
      }
      const unknown = spawnSync(BIN, ['frobnicate'], { encoding: 'utf8' });
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /unknown command/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
