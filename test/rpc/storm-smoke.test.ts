// The agent storm simulator (bench/storm-bench.ts) in small: a few simulated L2 and DHCP agents
// on RabbitMQ against a `neutrino server` child process on SQLite, each registering, doing its
// start-up resync and reporting; then the server restarts and every agent reports fine again.
// Its figures are for the benchmark run; here only that every step worked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { haveRabbitmqctl, skipUnlessRabbit } from './rabbit.js';

const run = promisify(execFile);
const skipRabbit = await skipUnlessRabbit();
const noCtl = skipRabbit ? null : await haveRabbitmqctl();
if (noCtl && process.env.CI) throw new Error(`the storm smoke test needs rabbitmqctl in CI: ${noCtl}`);

describe('agent storm simulator (smoke)', { skip: skipRabbit || noCtl || false }, () => {
  it('registers, resyncs and reports a few agents, and they report fine again after a server restart', async () => {
    const { stdout } = await run(process.execPath, ['dist/bench/storm-bench.js', '--smoke'], { timeout: 240_000, maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const [step] = r.steps;
    assert.equal(step.agents, 6);
    assert.equal(step.failedStarts, 0);
    assert.equal(step.resync.failed, 0);
    // 3 L2 agents x 4 start-up RPCs + 3 DHCP agents x 1.
    assert.equal(step.resync.n, 15);
    assert.ok(step.report.n >= 6, `every agent reported in the window (${step.report.n} reports)`);
    assert.equal(step.report.failed, 0);
    assert.equal(r.restart.agents, 6);
    assert.ok(r.restart.report.n >= 6 && r.restart.report.failed === 0, JSON.stringify(r.restart));
  });
});
