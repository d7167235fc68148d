// `neutrino config sample`: every schema option lands in some sample file, commented out as
// oslo-config-generator writes it, and the files fed back unchanged start the server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { loadConfig, SCHEMA } from '../../src/config/index.js';
import { SAMPLE_FILES } from '../../src/config/sample.js';
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

/** "section/name" of every commented-out option line (`#name = ...`) in a sample file. */
function commentedOptions(text: string): Set<string> {
  const found = new Set<string>();
  let section = '';
  for (const line of text.split('\n')) {
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    const o = /^#([a-z0-9_]+) =/.exec(line);
    if (o) found.add(`${section}/${o[1]}`);
  }
  return found;
}

describe('neutrino config sample', () => {
  it('writes the six files; every option appears, annotated, and stdout is neutron.conf', () => {
    const d = mkdtempSync(join(tmpdir(), 'cfgsample-'));
    try {
      const r = spawnSync(BIN, ['config', 'sample', '--output-dir', d], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const texts = Object.fromEntries(SAMPLE_FILES.map((f) => [f, readFileSync(join(d, f), 'utf8')]));
      const all = new Set(SAMPLE_FILES.flatMap((f) => [...commentedOptions(texts[f]!)]));
      const missing: string[] = [];
      for (const [section, opts] of Object.entries(SCHEMA)) {
        for (const name of Object.keys(opts)) if (!all.has(`${section}/${name}`)) missing.push(`${section}/${name}`);
      }
      assert.deepEqual(missing, []);
      // Where Neutron puts them, with help, type and limits.
      assert.ok(commentedOptions(texts['ml2_conf.ini']!).has('ml2/mechanism_drivers'));
      assert.ok(commentedOptions(texts['linuxbridge_agent.ini']!).has('linux_bridge/physical_interface_mappings'));
      assert.ok(commentedOptions(texts['dhcp_agent.ini']!).has('DEFAULT/enable_isolated_metadata'));
      assert.ok(commentedOptions(texts['l3_agent.ini']!).has('DEFAULT/agent_mode'));
      assert.ok(commentedOptions(texts['metadata_agent.ini']!).has('DEFAULT/nova_metadata_host'));
      assert.ok(!commentedOptions(texts['neutron.conf']!).has('DEFAULT/agent_mode'));
      assert.match(texts['neutron.conf']!, /# The port to bind to\. \(port value\)\n#bind_port = 9696\n/);
      assert.match(
        texts['neutron.conf']!,
        /# How many times to try to generate a unique MAC address\. \(integer\n# value\)\n# Minimum value: 1\n#mac_generation_retries = 16\n/,
      );
      assert.match(texts['neutron.conf']!, /# Possible values:\n# keystone\n# noauth\n#auth_strategy = keystone\n/);
      assert.match(texts['neutron.conf']!, /# neutrino only: Neutron has no such option\.\n# Minimum value: 0\n#max_bulk_items = 1000\n/);
      assert.match(texts['neutron.conf']!, /#www_authenticate_uri = <None>/);
      assert.match(texts['neutron.conf']!, /# Deprecated group\/name - \[keystone_authtoken\]\/auth_uri\n/);
      for (const t of Object.values(texts)) for (const line of t.split('\n')) assert.ok(line.length <= 79 || !line.startsWith('# '), line);

      const out = spawnSync(BIN, ['config', 'sample'], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout, texts['neutron.conf']);
      // Commented out: loading every file gives the schema's defaults.
      assert.deepEqual(loadConfig(SAMPLE_FILES.map((f) => join(d, f))), loadConfig([]));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('an unknown subcommand fails with the usage', () => {
    const r = spawnSync(BIN, ['config', 'smaple'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "config smaple"[\s\S]*--output-dir/);
  });

  it('the sample neutron.conf and ml2_conf.ini, unchanged, start the server', async () => {
    const d = mkdtempSync(join(tmpdir(), 'cfgsample-srv-'));
    const port = await freePort();
    const gen = spawnSync(BIN, ['config', 'sample', '--output-dir', d], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    // Only what a test host needs on top: no Keystone here, and a state path of its own.
    writeFileSync(join(d, 'test.conf'), '[DEFAULT]\nauth_strategy = noauth\n');
    const args = ['--config-file', join(d, 'neutron.conf'), '--config-file', join(d, 'ml2_conf.ini'), '--config-file', join(d, 'test.conf')];
    const local = ['--state-path', join(d, 'state'), '--bind-host', '127.0.0.1', '--bind-port', String(port)];
    const up = spawnSync(BIN, ['db', 'upgrade', ...args, ...local], { encoding: 'utf8' });
    assert.equal(up.status, 0, up.stderr);
    const proc = spawn(BIN, ['server', ...args, ...local], { stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${port}/v2.0/networks`;
      // The default server forks API workers (one per CPU) after migrating: slower to answer than one process.
      const r = await waitThroughErrors(url, () => fetch(url), 90_000, 200);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { networks: [] });
    } finally {
      proc.kill('SIGTERM');
      rmSync(d, { recursive: true, force: true });
    }
  });
});
