// Polling for the benchmarks' start-up and settle phases. The tests have the same in
// test/helpers/wait.ts; bench/ does not import test/, and no production code polls like this.
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `fn` every `every` ms until it returns something truthy; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, every = 5): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}
