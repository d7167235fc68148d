// `npm pack` makes an installable tarball: its dependencies are bundled (better-sqlite3 built for
// this platform and Node), so `npm install -g --ignore-scripts` installs it with no registry and
// no compiler; the installed `neutrino` prints its version and runs the all-in-one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/process-server.js';
import { waitThroughErrors } from '../helpers/wait.js';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('npm pack', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'neutrino-pack-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('installs into a prefix from the tarball alone; neutrino --version and the aio answer', async () => {
    // dist/ is built already (npm test builds it): no prepare script.
    const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
    assert.equal(tgz, `neutrino-${VERSION}.tgz`);
    const prefix = join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', join(work, tgz)], {
      stdio: 'ignore',
      cwd: work,
    });
    const bin = join(prefix, 'bin', 'neutrino');
    assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), VERSION);

    const port = await freePort();
    const aio = spawn(bin, ['aio', '--bind-host', '127.0.0.1', '--bind-port', String(port), '--state-path', join(work, 'state')], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    aio.stdout.on('data', (d) => (out += d));
    aio.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => aio.once('exit', (code) => r(code)));
    try {
      const body = await waitThroughErrors(
        'the installed aio to answer',
        async () => {
          if (aio.exitCode !== null) throw new Error(`exited: ${out}`);
          const r = await fetch(`http://127.0.0.1:${port}/v2.0/networks`);
          return r.status === 200 ? await r.json() : undefined;
        },
        60_000,
        200,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- output ---\n${out}`);
      });
      assert.deepEqual(body, { networks: [] });
      for (const page of ['/ui/', '/ui/vendor/preact.mjs']) {
        const r = await fetch(`http://127.0.0.1:${port}${page}`);
        assert.equal(r.status, 200, `the topology page's ${page} is in the package`);
      }
      assert.match(
        out,
        new RegExp(`^\\S+ \\S+ ${aio.pid} INFO neutrino\\.server \\[-\\] neutrino server listening`, 'm'),
        'it logs in oslo.log text',
      );
    } finally {
      aio.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });
});
