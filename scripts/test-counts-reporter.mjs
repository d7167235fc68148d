// A node:test reporter for scripts/run-tests.mjs: writes one JSON line with the run's totals
// (the numbers the spec reporter prints at the end: tests, suites, pass, fail, cancelled, skipped,
// todo, duration_ms) and the names of the tests that failed, so the runner can add up the files
// it ran one by one.
const TOTALS = new Set(['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms']);

export default async function* countsReporter(source) {
  const totals = {};
  const failed = [];
  const path = [];
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:start') path[data.nesting] = data.name;
    else if (type === 'test:fail') {
      // A suite fails because of its tests (already listed): only name what failed by itself.
      const cause = data.details?.error?.failureType;
      if (cause !== 'subtestsFailed') failed.push([...path.slice(0, data.nesting), data.name].join(' › '));
    } else if (type === 'test:diagnostic' && data.nesting === 0) {
      const m = /^(\w+) ([\d.]+)$/.exec(data.message);
      if (m && TOTALS.has(m[1])) totals[m[1]] = Number(m[2]);
    }
  }
  yield `${JSON.stringify({ totals, failed })}\n`;
}
