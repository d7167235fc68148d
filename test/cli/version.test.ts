// `neutrino --version` prints package.json's version alone, whatever the command beside it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

it('neutrino --version prints the version of package.json and exits 0', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const argv of [['--version'], ['server', '--version']]) {
    const r = spawnSync(resolve('bin/neutrino'), argv, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});
