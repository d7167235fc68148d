// The node flags each kind of worker is forked with (src/server/workers.ts): the API workers keep
// bin/neutrino's --max-semi-space-size, the RPC and state-report workers take V8's default.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workerExecArgv } from '../../src/server/workers.js';

describe('workerExecArgv', () => {
  const primary = ['--max-semi-space-size=64', '--enable-source-maps'];

  it('API workers: the primary flags as they are', () => {
    assert.deepEqual(workerExecArgv('api', primary), primary);
  });

  it('RPC and state-report workers: without the semi-space size, in either spelling, the other flags kept', () => {
    for (const role of ['rpc', 'reports'] as const) {
      assert.deepEqual(workerExecArgv(role, primary), ['--enable-source-maps']);
      assert.deepEqual(workerExecArgv(role, ['--max_semi_space_size', '32', '--inspect=0']), ['--inspect=0']);
      assert.deepEqual(workerExecArgv(role, ['--max-semi-space-size', '32']), []);
    }
  });

  it('leaves other young-generation flags alone', () => {
    assert.deepEqual(workerExecArgv('rpc', ['--min-semi-space-size=8', '--max-semi-space-size=64']), ['--min-semi-space-size=8']);
  });
});
