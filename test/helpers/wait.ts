// Polling helpers for tests that wait on another process, agent or the kernel.

import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves after `ms` milliseconds (Node's timers/promises setTimeout). */
export { sleep };

type Poll<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

/** Polls `fn` every `every` ms until it returns something truthy; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: Poll<T>, timeoutMs = 15_000, every = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** waitFor for things still starting: a throw from `fn` counts as "not yet", and the last one is named on timeout. */
export async function waitThroughErrors<T>(what: string, fn: Poll<T>, timeoutMs = 15_000, every = 20): Promise<T> {
  let last: unknown;
  const quiet = async () => {
    try {
      return await fn();
    } catch (e) {
      last = e;
      return null;
    }
  };
  return waitFor(what, quiet, timeoutMs, every).catch((e: Error) => {
    throw last === undefined ? e : new Error(`${e.message} (last error: ${(last as Error).message ?? String(last)})`);
  });
}
