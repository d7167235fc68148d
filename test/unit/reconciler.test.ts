// The agents' work queue: dedupe, single flight, backoff with jitter, periodic full resync and
// stop, driven by a fake clock (the scheduling is the unit here, so time is a fake).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingKeys, Reconciler, backoffDelay, type Clock, type ReconcilerOptions } from '../../src/agents/reconciler.js';

/** Timers that fire only when the test advances time. */
class FakeClock implements Clock {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(t: unknown): void {
    this.timers.delete(t as number);
  }
  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
  /** Moves time on by `ms`, firing due timers in order (and letting their work settle). */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = end;
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

/** A run per key that the test finishes by hand, to see what overlaps what. */
class Runs {
  log: string[] = [];
  open = new Map<string, { ok: () => void; fail: (e: Error) => void }>();
  run = (key: string) =>
    new Promise<void>((ok, fail) => {
      this.log.push(key);
      assert.ok(!this.open.has(key), `${key} runs twice at once`);
      this.open.set(key, {
        ok: () => {
          this.open.delete(key);
          ok();
        },
        fail: (e) => {
          this.open.delete(key);
          fail(e);
        },
      });
    });
  async finish(key: string, error?: Error): Promise<void> {
    const r = this.open.get(key);
    assert.ok(r, `${key} is not running`);
    if (error) r.fail(error);
    else r.ok();
    await settle();
  }
}

const make = (runs: Runs, clock: FakeClock, o: Partial<ReconcilerOptions<string>> = {}) =>
  new Reconciler<string>({ run: runs.run, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 }, clock, random: () => 0.5, ...o });

/** A queue whose key 'a' has just failed once (a retry is waiting). */
async function afterOneFailure() {
  const runs = new Runs();
  const clock = new FakeClock();
  const q = make(runs, clock);
  void q.enqueue('a');
  await settle();
  await runs.finish('a', new Error('x'));
  return { runs, clock, q };
}

describe('backoffDelay', () => {
  it('doubles per failure up to the cap', () => {
    const b = { baseMs: 100, maxMs: 1000, jitter: 0 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, b)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });
  it('takes up to `jitter` of the delay off at random, never more, never above the cap', () => {
    const b = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    assert.equal(
      backoffDelay(3, b, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(3, b, () => 0.999999),
      200,
    );
    assert.equal(
      backoffDelay(20, b, () => 0.5),
      750,
    );
  });
});

describe('Reconciler', () => {
  it('runs a key requested twice while it waits once', async () => {
    const runs = new Runs();
    const q = make(runs, new FakeClock());
    void q.enqueue('a');
    void q.enqueue('b');
    void q.enqueue('b');
    await settle();
    assert.deepEqual(runs.log, ['a']);
    await runs.finish('a');
    assert.deepEqual(runs.log, ['a', 'b']);
    await runs.finish('b');
    await q.idle();
    assert.deepEqual(runs.log, ['a', 'b']);
  });

  it('never runs a key twice at once; requests during a run make one more run after it', async () => {
    const runs = new Runs();
    const q = make(runs, new FakeClock(), { concurrency: 4 });
    const first = q.enqueue('a');
    await settle();
    const second = q.enqueue('a');
    const third = q.enqueue('a');
    void q.enqueue('b');
    await settle();
    assert.deepEqual(runs.log, ['a', 'b'], 'b runs beside a; a waits for its own run to end');
    await runs.finish('a');
    assert.deepEqual(await first, { ok: true });
    assert.deepEqual(runs.log, ['a', 'b', 'a']);
    await runs.finish('a');
    assert.deepEqual([await second, await third], [{ ok: true }, { ok: true }]);
    await runs.finish('b');
    await q.idle();
    assert.equal(runs.log.length, 3);
  });

  it('retries a failure after a growing backoff, and a success resets the count', async () => {
    const runs = new Runs();
    const clock = new FakeClock();
    const seen: Array<[number, number]> = [];
    const q = make(runs, clock, { onFailure: (_k, _e, n, ms) => seen.push([n, ms]) });
    const out = q.enqueue('a');
    await settle();
    await runs.finish('a', new Error('server away'));
    assert.equal((await out).ok, false);
    assert.deepEqual(clock.pending, [100]);
    await clock.advance(99);
    assert.equal(runs.log.length, 1, 'not before the backoff');
    await clock.advance(1);
    assert.equal(runs.log.length, 2);
    await runs.finish('a', new Error('still away'));
    assert.deepEqual(clock.pending, [200]);
    await clock.advance(200);
    await runs.finish('a');
    assert.equal(q.failures('a'), 0);
    assert.deepEqual(clock.pending, [], 'no retry after a success');
    assert.deepEqual(seen, [
      [1, 100],
      [2, 200],
    ]);
  });

  it('a request during the backoff runs at once and keeps the failure count', async () => {
    const { runs, clock, q } = await afterOneFailure();
    void q.enqueue('a');
    await settle();
    assert.equal(runs.log.length, 2);
    assert.deepEqual(clock.pending, [], 'the waiting retry is dropped');
    await runs.finish('a', new Error('x'));
    assert.equal(q.failures('a'), 2);
    assert.deepEqual(clock.pending, [200]);
  });

  it('queues the full key every resync interval, first among the waiting keys, and drops what it covers', async () => {
    const runs = new Runs();
    const clock = new FakeClock();
    const q = make(runs, clock, { fullKey: 'full', resyncMs: 1000, coveredByFull: (k) => k === 'quick' });
    void q.enqueue('x');
    await settle();
    const quick = q.enqueue('quick');
    await clock.advance(1000);
    assert.deepEqual(runs.log, ['x']);
    await runs.finish('x');
    assert.deepEqual(runs.log, ['x', 'full'], "the full run starts first and does the quick one's work");
    await runs.finish('full');
    assert.deepEqual(await quick, { ok: true }, 'the covered request is answered by the full run');
    await q.idle();
    assert.deepEqual(runs.log, ['x', 'full']);
    await clock.advance(1000);
    assert.deepEqual(runs.log, ['x', 'full', 'full']);
    await runs.finish('full');
  });

  it('stop() waits for the run in flight, answers waiters and clears every timer', async () => {
    const runs = new Runs();
    const clock = new FakeClock();
    const q = make(runs, clock, { fullKey: 'full', resyncMs: 1000 });
    void q.enqueue('a');
    void q.enqueue('b');
    await settle();
    const waiting = q.enqueue('b');
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await settle();
    assert.equal(stopped, false, 'a is still running');
    assert.equal((await waiting).ok, false, 'b never ran');
    await runs.finish('a', new Error('late failure'));
    await stopping;
    assert.deepEqual(clock.pending, [], 'no resync and no retry timer left');
    assert.equal((await q.enqueue('a')).ok, false);
    assert.deepEqual(runs.log, ['a']);
  });

  it('nextRun waits for the retry without asking for a run', async () => {
    const { runs, clock, q } = await afterOneFailure();
    const next = q.nextRun('a');
    await clock.advance(100);
    await runs.finish('a');
    assert.deepEqual(await next, { ok: true });
  });
});

describe('PendingKeys', () => {
  it("keeps each key once and gives a failed pass's keys back", () => {
    const p = new PendingKeys<string>();
    p.add('tap1');
    p.add('tap2');
    p.add('tap1');
    const taken = p.take();
    assert.deepEqual([...taken], ['tap1', 'tap2']);
    assert.equal(p.size, 0);
    p.add('tap3');
    p.putBack(taken);
    assert.deepEqual([...p.take()].sort(), ['tap1', 'tap2', 'tap3']);
  });
});
