// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and
// the same grouped by file/package, so hot spots show without a GUI.
//
//   node dist/bench/cpuprofile-top.js PROFILE.cpuprofile [--top 40] [--filter TEXT] [--inclusive]
//
// --inclusive adds a table of total time (self + callees) per function.
//
// Profile a benchmark run with: npm run bench -- --server-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function main(argv: string[]): void {
  const files: string[] = [];
  let top = 40;
  let filter: string | undefined;
  let inclusive = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else if (argv[i] === '--inclusive') inclusive = true;
    else if (argv[i] === '--filter') filter = argv[++i];
    else files.push(argv[i]!);
  }
  if (!files.length) {
    process.stderr.write('usage: cpuprofile-top PROFILE.cpuprofile [--top N] [--filter TEXT]\n');
    process.exit(2);
  }
  for (const file of files) summarise(file, top, filter, inclusive);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

function group(url: string): string {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return shortUrl(url);
}

function summarise(file: string, top: number, filter: string | undefined, inclusive: boolean): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node from samples x time deltas (more exact than hitCount x interval).
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)', '(garbage collector)'].includes(byId.get(id)!.callFrame.functionName));
  const fn = new Map<string, number>();
  const grp = new Map<string, number>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    if (filter && !cf.url.includes(filter) && !cf.functionName.includes(filter)) continue;
    const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const g = cf.url ? group(cf.url) : cf.functionName;
    grp.set(g, (grp.get(g) ?? 0) + us);
  }
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(9);
  const pc = (us: number) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
  process.stdout.write(`${file}\n  wall ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms, sampled ${(total / 1000).toFixed(0)} ms; `);
  process.stdout.write(idle.map(([id, us]) => `${byId.get(id)!.callFrame.functionName} ${(us / 1000).toFixed(0)} ms`).join(', ') + '\n');
  process.stdout.write(`\n  self ms   share  by file/package\n`);
  for (const [k, us] of [...grp.entries()].sort((a, b) => b[1] - a[1]).slice(0, Math.min(top, 25)))
    process.stdout.write(`${ms(us)} ${pc(us)}  ${k}\n`);
  process.stdout.write(`\n  self ms   share  by function\n`);
  for (const [k, us] of [...fn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${ms(us)} ${pc(us)}  ${k}\n`);
  process.stdout.write('\n');
  if (!inclusive) return;
  // Total time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  process.stdout.write(`  total ms  share  by function, including callees\n`);
  const rows = [...incl.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`${ms(us)} ${pc(us)}  ${k}\n`);
  process.stdout.write('\n');
}

main(process.argv.slice(2));
