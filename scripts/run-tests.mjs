#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js), or those whose path contains one of the
// arguments, each with its own `node --test`, in parallel lanes (NEUTRINO_TEST_JOBS, default 3):
// on a 2-core machine node's own --test would run the files one at a time, yet the root tests,
// which run one at a time (below), spend most of their time waiting on daemons and packets, so
// two more lanes keep both cores busy with the API, database and RPC tests meanwhile.
//
// Files of one exclusive group never run at the same time (EXCLUSIVE below says why each group
// exists); any other two files may. Each file's spec output is kept and printed whole when the
// file ends, then the totals over all files, the files that failed and the slowest files. Exits
// non-zero when a file failed, had a cancelled test or exited non-zero.
//
// NEUTRINO_TEST_JOBS=1 runs the files one at a time. NEUTRINO_ROOT_LOCK=/tmp/root-tests.lock
// holds that flock(1) lock from the first root test file until the last one ends (machines
// shared by several developers; the root files come first, so they are one stretch).
// The times of the last run are kept in artifacts/test-times.json and put the longest files first.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Groups of files that must not overlap, by what they share that a test cannot make its own.
 * Everything else a test uses is unique to its run already: databases (neutrino_t_<random>),
 * RabbitMQ vhosts and exchanges (per-run names), loopback ports (free ports), temp directories.
 */
const EXCLUSIVE = [
  {
    // The kernel (sysctls, nftables, conntrack, VXLAN ports, bridges in the host namespace,
    // daemons found by name), pings and packet timings: the root tests run one at a time, as
    // they always have.
    group: 'root',
    match: (f) => f.endsWith('.root.test.js') && !f.includes('/packaging/'),
  },
  {
    // The Debian package: installs with apt-get/dpkg (one dpkg lock), /usr/bin/neutrino, the
    // neutrino system user. No kernel state, so it may run beside a root test.
    group: 'dpkg',
    match: (f) => f.includes('/packaging/') && f.endsWith('.root.test.js'),
  },
  {
    // The real Keystone's users and projects, created when missing and reset by name.
    group: 'keystone',
    match: (f) => /\/(keystone\/(keystone-auth|secure-rbac)|ui\/topology)\.test\.js$/.test(f),
  },
];

/** Known to be long, started early when there are no recorded times (a fresh clone, CI). */
const LONG = [
  'db/import-neutron',
  'e2e/neutron-agents',
  'e2e/neutron-server',
  'e2e/l3-',
  'e2e/two-hosts',
  'e2e/security-groups',
  'faults/',
  'api/fuzz',
  'scale/',
  'rpc/',
];

const TIMES = resolve('artifacts/test-times.json');
const REPORTER = resolve('scripts/test-counts-reporter.mjs');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function recordedTimes() {
  try {
    return JSON.parse(readFileSync(TIMES, 'utf8'));
  } catch {
    return {};
  }
}

/** Longest first: by the last recorded time, else the LONG list's order, else root files first. */
function ordered(files) {
  const times = recordedTimes();
  const rank = (f) => {
    if (times[f] !== undefined) return -times[f];
    const i = LONG.findIndex((p) => f.includes(p));
    return i >= 0 ? -1e6 + i : f.endsWith('.root.test.js') ? -1e5 : 0;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const only = process.argv.slice(2);
const files = walk('dist/test')
  .sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const jobs = Math.max(1, Number(process.env.NEUTRINO_TEST_JOBS) || 3);
const rootLock = process.env.NEUTRINO_ROOT_LOCK;
const groupOf = (f) => EXCLUSIVE.find((g) => g.match(f))?.group ?? null;
const work = mkdtempSync(join(tmpdir(), 'neutrino-test-run-'));
const children = new Set();

/** Holds the flock(1) lock on `path` until release() (a child process keeps it open). */
function lock(path) {
  const p = spawn('flock', [path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(p);
  const acquired = new Promise((res, rej) => {
    p.stdout.once('data', () => res());
    p.once('exit', (code) => rej(new Error(`flock ${path} exited ${code}`)));
  });
  return {
    acquired,
    release() {
      p.stdin.end();
      children.delete(p);
    },
  };
}

/** NEUTRINO_ROOT_LOCK, taken by the first root file and kept while root files remain. */
let rootHeld = null;
const isRoot = (f) => groupOf(f) === 'root';
async function takeRootLock() {
  rootHeld ??= lock(rootLock);
  await rootHeld.acquired;
}
function releaseRootLockIfDone() {
  if (rootHeld && !queue.some(isRoot)) {
    rootHeld.release();
    rootHeld = null;
  }
}

/** Runs one file; resolves with what it printed, its totals and failures, and its time. */
async function runFile(file, lane) {
  const started = Date.now();
  if (rootLock && isRoot(file)) await takeRootLock();
  const lockWaitMs = Date.now() - started;
  const countsFile = join(work, `${file.replaceAll('/', '_')}.json`);
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${REPORTER}`,
      `--test-reporter-destination=${countsFile}`,
      file,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const chunks = [];
  child.stdout.on('data', (b) => chunks.push(b));
  child.stderr.on('data', (b) => chunks.push(b));
  const { code, signal } = await new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
  children.delete(child);
  if (rootLock && isRoot(file)) releaseRootLockIfDone();
  const ms = Date.now() - t0;
  let counts = { totals: {}, failed: [] };
  try {
    counts = JSON.parse(readFileSync(countsFile, 'utf8'));
  } catch {
    // No totals: the process died before its reporter finished; the exit code says so.
  }
  return { file, lane, ms, lockWaitMs, code, signal, output: Buffer.concat(chunks).toString(), ...counts };
}

const queue = ordered(files);
const busy = new Set();
const results = [];
const runStarted = Date.now();

function nextFile() {
  const i = queue.findIndex((f) => {
    const g = groupOf(f);
    return g === null || !busy.has(g);
  });
  return i < 0 ? null : queue.splice(i, 1)[0];
}

const wakeups = [];
const wakeAll = () => wakeups.splice(0).forEach((w) => w());

async function lane(n) {
  while (queue.length) {
    const file = nextFile();
    if (!file) {
      // Everything left waits for a group another lane holds.
      await new Promise((r) => wakeups.push(r));
      continue;
    }
    const g = groupOf(file);
    if (g) busy.add(g);
    const r = await runFile(file, n);
    if (g) busy.delete(g);
    wakeAll();
    results.push(r);
    const s = (r.ms / 1000).toFixed(1);
    const bad = r.code !== 0 || (r.totals.fail ?? 0) > 0 || (r.totals.cancelled ?? 0) > 0;
    const waited = r.lockWaitMs >= 1000 ? `, after ${(r.lockWaitMs / 1000).toFixed(1)} s waiting for ${rootLock}` : '';
    process.stdout.write(`\n━━ ${bad ? '✖' : '✔'} ${file} (${s} s, lane ${n}${waited}) ━━\n${r.output.trimEnd()}\n`);
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) c.kill(sig);
    process.exit(130);
  });
}

await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, (_, i) => lane(i + 1)));
rmSync(work, { recursive: true, force: true });

// Totals over every file, in the spec reporter's words.
const sum = (k) => results.reduce((a, r) => a + (r.totals[k] ?? 0), 0);
const broken = results.filter((r) => r.code !== 0 || (r.totals.fail ?? 0) > 0 || (r.totals.cancelled ?? 0) > 0);
const wallMs = Date.now() - runStarted;

const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 15);
const width = Math.max(...slowest.map((r) => r.file.length));
console.log(`\nslowest ${slowest.length} files (of ${results.length}):`);
for (const r of slowest)
  console.log(
    `  ${r.file.padEnd(width)}  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${String(r.totals.tests ?? '?').padStart(4)} tests  lane ${r.lane}`,
  );
const waited = results.reduce((a, r) => a + r.lockWaitMs, 0);
if (rootLock) console.log(`waited ${(waited / 1000).toFixed(1)} s in all for ${rootLock}`);

if (broken.length) {
  console.log(`\nfailed files (${broken.length}):`);
  for (const r of broken) {
    const why = r.signal ? `killed by ${r.signal}` : `exit ${r.code}, ${r.totals.fail ?? '?'} failed, ${r.totals.cancelled ?? '?'} cancelled`;
    console.log(`  ✖ ${r.file} (${why})`);
    for (const name of r.failed) console.log(`      ${name}`);
  }
}

try {
  const times = recordedTimes();
  for (const r of results) times[r.file] = Math.round(r.ms);
  mkdirSync(resolve('artifacts'), { recursive: true });
  writeFileSync(TIMES, `${JSON.stringify(times, null, 1)}\n`);
} catch {
  // Only an ordering hint for the next run.
}

console.log(`\nℹ files ${results.length} (${jobs} lanes)`);
for (const k of ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo']) console.log(`ℹ ${k} ${sum(k)}`);
console.log(`ℹ duration_ms ${wallMs}`);
console.log(`${sum('pass')} passed, ${sum('fail')} failed, ${sum('skipped')} skipped`);
process.exit(broken.length || results.length !== files.length ? 1 : 0);
