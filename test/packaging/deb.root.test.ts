// The Debian package as an operator meets it: scripts/build-deb.sh builds it from this checkout,
// `apt-get install ./neutrino_*.deb` installs it on this machine (the neutrino user, the units,
// the sample configs in /etc/neutrino), the server starts from its unit's ExecStart line as the
// unit's User in its WorkingDirectory (there is no systemd to start it: one more --config-file
// gives it a free loopback port and no-auth) and answers GET /v2.0/networks; then purge leaves
// nothing behind. Root: apt and the system user.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/process-server.js';
import { waitThroughErrors } from '../helpers/wait.js';

const UNITS = ['neutrino-server', 'neutrino-linuxbridge-agent', 'neutrino-dhcp-agent', 'neutrino-l3-agent', 'neutrino-metadata-agent'];
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const installed = () => spawnSync('dpkg-query', ['-W', `-f=\${Status}`, 'neutrino'], { encoding: 'utf8' }).stdout.includes('install ok installed');
const apt = (...args: string[]) =>
  execFileSync('apt-get', ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
/** `Key=value` of a unit file's [Service] section. */
const unitKey = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];

describe('the Debian package', { skip: process.getuid?.() !== 0 ? 'needs root (apt, a system user)' : false }, () => {
  let work: string;
  let deb: string;
  // A state directory another user of this machine made before is given back after the purge.
  const stateExisted = existsSync('/var/lib/neutrino');
  before(() => {
    assert.ok(!installed(), 'a neutrino package is already installed here; the test would remove it');
    work = mkdtempSync(join(tmpdir(), 'neutrino-deb-'));
    chmodSync(work, 0o755); // the neutrino user reads the extra config file in it
    deb = execFileSync('bash', ['scripts/build-deb.sh'], { encoding: 'utf8', env: { ...process.env, SKIP_BUILD: '1', OUT_DIR: work } }).trim();
  });
  after(() => {
    if (installed()) execFileSync('dpkg', ['--purge', 'neutrino']);
    if (stateExisted) mkdirSync('/var/lib/neutrino', { recursive: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('installs with apt, starts from the unit file as its user, answers, and purges clean', async () => {
    assert.match(deb, new RegExp(`neutrino_${VERSION.replace(/\./g, '\\.')}_[a-z0-9]+\\.deb$`));
    apt('install', deb);
    assert.ok(installed());
    assert.equal(execFileSync('/usr/bin/neutrino', ['--version'], { encoding: 'utf8' }).trim(), VERSION);
    assert.match(
      execFileSync('getent', ['passwd', 'neutrino'], { encoding: 'utf8' }),
      /^neutrino:x:\d+:\d+:.*:\/var\/lib\/neutrino:\/usr\/sbin\/nologin$/m,
    );
    for (const f of ['neutron.conf', 'ml2_conf.ini', 'linuxbridge_agent.ini', 'dhcp_agent.ini', 'l3_agent.ini', 'metadata_agent.ini']) {
      assert.match(readFileSync(join('/etc/neutrino', f), 'utf8'), /^#\w+ = /m, `${f}: the annotated sample`);
    }
    for (const u of UNITS) {
      const text = readFileSync(`/lib/systemd/system/${u}.service`, 'utf8');
      assert.equal(unitKey(text, 'User'), u === 'neutrino-server' ? 'neutrino' : 'root', u);
      assert.equal(unitKey(text, 'Restart'), 'on-failure', u);
      assert.match(unitKey(text, 'ExecStart') ?? '', /^\/usr\/bin\/neutrino .*--config-file=\/etc\/neutrino\/neutron\.conf/, u);
    }

    const unit = readFileSync('/lib/systemd/system/neutrino-server.service', 'utf8');
    const port = await freePort();
    const extra = join(work, 'test.conf');
    writeFileSync(extra, `[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = ${port}\nauth_strategy = noauth\n`);
    chmodSync(extra, 0o644);
    const argv = unitKey(unit, 'ExecStart')!.split(/\s+/);
    const user = unitKey(unit, 'User')!;
    // setpriv execs the command as the user (no process in between to pass SIGTERM on).
    const server = spawn('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', ...argv, `--config-file=${extra}`], {
      cwd: unitKey(unit, 'WorkingDirectory')!,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    server.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    try {
      const body = await waitThroughErrors(
        'the packaged server to answer',
        async () => {
          if (server.exitCode !== null) throw new Error(`exited: ${out}`);
          const r = await fetch(`http://127.0.0.1:${port}/v2.0/networks`);
          return r.status === 200 ? await r.json() : undefined;
        },
        60_000,
        200,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- server output ---\n${out}`);
      });
      assert.deepEqual(body, { networks: [] });
      for (const page of ['/ui/', '/ui/vendor/preact.mjs']) {
        const r = await fetch(`http://127.0.0.1:${port}${page}`);
        assert.equal(r.status, 200, `the topology page's ${page} is in the package`);
      }
      assert.ok(existsSync('/var/lib/neutrino/neutrino.sqlite'), 'its database in the state directory, written as the neutrino user');
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);

    execFileSync('dpkg', ['--purge', 'neutrino'], { stdio: 'ignore' }); // what apt-get purge runs, without reading the package lists again
    assert.ok(!installed());
    for (const p of ['/usr/bin/neutrino', '/usr/lib/neutrino', '/etc/neutrino', '/var/lib/neutrino', '/lib/systemd/system/neutrino-server.service']) {
      assert.ok(!existsSync(p), `${p} is gone`);
    }
    assert.equal(spawnSync('getent', ['passwd', 'neutrino']).status, 2, 'the user is gone');
  });
});
