// Progress of a long benchmark phase on stderr, at most once a second: "  1200/5000 (310/s)",
// rewritten in place on a terminal, one line each otherwise (--progress into a file or CI log).
// The result tables stay on stdout, untouched.
import { performance } from 'node:perf_hooks';

export class Progress {
  private last = 0;
  private readonly t0 = performance.now();
  constructor(
    private readonly total: number,
    private readonly on: boolean,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  /** `done` of `total` so far; prints when a second has passed since the last line. */
  tick(done: number): void {
    if (!this.on) return;
    const now = performance.now();
    if (now - this.last < 1000 && done < this.total) return;
    this.last = now;
    const rate = done / ((now - this.t0) / 1000);
    const text = `  ${done}/${this.total} (${rate.toFixed(0)}/s)`;
    process.stderr.write(this.tty ? `\r${text}\x1b[K` : `${text}\n`);
  }

  /** Clears the line it rewrote on a terminal. */
  end(): void {
    if (this.on && this.tty) process.stderr.write('\r\x1b[K');
  }
}
