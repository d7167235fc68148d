// One nftables table per owner (e.g. the L2 agent's security groups), described as data, applied
// with one atomic `nft -f -` transaction that deletes and re-creates only that table, and read
// back with `nft -j list table` so that an unchanged table costs a read and no write.
//
// Comparing nft's JSON expression trees with our rule text would mean re-implementing nft's
// parser. Instead every rule carries a comment with a hash of its text ("h:…"), and the
// comparison is on what nft echoes back verbatim: chain declarations, set declarations, set
// elements (canonicalised) and, per chain, the sequence of rule comments. Anyone who deletes,
// adds or reorders a rule, or edits a set, is seen and repaired by the next pass.
//
// When only set elements differ (the common case: a port joins a remote security group) the
// plan is `delete element`/`add element` in one transaction rather than a table rebuild.
import { createHash } from 'node:crypto';
import { execOf, type Target } from './exec.js';
import { assertIfName, canonicalIp, ipFamily } from './values.js';
import ipaddr from 'ipaddr.js';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export interface NftSet {
  name: string;
  /** nft type expression: 'ipv4_addr', 'ipv4_addr . inet_service', 'ifname', … */
  type: string;
  flags?: Array<'constant' | 'interval' | 'timeout' | 'dynamic'>;
  /** Elements in nft syntax ('10.0.0.0/24', '10.0.0.1 . 22', '1000-2000', '"tap1"'). */
  elements?: string[];
  /** False for sets the datapath fills itself (`update @set`): their elements are not compared. */
  manageElements?: boolean;
}

export interface NftBaseChain {
  type: 'filter' | 'nat' | 'route';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
  /** Numeric (filter = 0, dstnat = -100, srcnat = 100, raw = -300): nft -j reports numbers. */
  priority: number;
  policy?: 'accept' | 'drop';
  /** For netdev ingress/egress chains. */
  device?: string;
}

export interface NftRule {
  /** One rule in nft syntax, without a trailing ';' and without a comment. */
  rule: string;
  /** Shown in `nft list` before our hash; [A-Za-z0-9 _.:/,=+@-], at most 100 characters. */
  comment?: string;
}

export interface NftChain {
  name: string;
  base?: NftBaseChain;
  rules: Array<string | NftRule>;
}

export interface NftTable {
  family: NftFamily;
  name: string;
  sets?: NftSet[];
  chains: NftChain[];
}

// ---- rendering --------------------------------------------------------------------------------

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function checkName(n: string, what: string): string {
  if (!NAME_RE.test(n)) throw new Error(`invalid nftables ${what} name ${JSON.stringify(n)}`);
  return n;
}

function checkRuleText(r: string): string {
  // A newline, ';' or '#' would end the rule early and let the rest run as something else.
  if (/[\n\r;#]/.test(r) || r.trim() === '') throw new Error(`invalid nftables rule ${JSON.stringify(r)}`);
  if (/(^|\s)comment(\s|$)/.test(r)) throw new Error(`nftables rule carries its own comment (use NftRule.comment): ${r}`);
  return r.trim();
}

/** The comment a rule is stored with: its own comment (if any) plus the hash of rule + comment. */
export function ruleTag(r: string | NftRule): string {
  const rule = checkRuleText(typeof r === 'string' ? r : r.rule);
  const comment = typeof r === 'string' ? '' : (r.comment ?? '');
  if (!/^[A-Za-z0-9 _.:/,=+@-]{0,100}$/.test(comment)) throw new Error(`invalid nftables rule comment ${JSON.stringify(comment)}`);
  const h = createHash('sha256').update(`${rule}\0${comment}`).digest('hex').slice(0, 16);
  return comment ? `${comment} h:${h}` : `h:${h}`;
}

function renderElements(elems: readonly string[]): string {
  for (const e of elems) if (/[\n\r;#{},]/.test(e) || e.trim() === '') throw new Error(`invalid nftables set element ${JSON.stringify(e)}`);
  return elems.join(', ');
}

/** The body of `table FAMILY NAME { … }`: sets first (rules refer to them), then chains. */
export function renderTableBody(t: NftTable): string {
  const out: string[] = [];
  for (const s of t.sets ?? []) {
    out.push(`\tset ${checkName(s.name, 'set')} {`);
    if (/[\n\r;#{}]/.test(s.type)) throw new Error(`invalid nftables set type ${JSON.stringify(s.type)}`);
    out.push(`\t\ttype ${s.type}`);
    if (s.flags?.length) out.push(`\t\tflags ${s.flags.join(',')}`);
    if (s.elements?.length) out.push(`\t\telements = { ${renderElements(s.elements)} }`);
    out.push('\t}');
  }
  for (const c of t.chains) {
    out.push(`\tchain ${checkName(c.name, 'chain')} {`);
    if (c.base) {
      const b = c.base;
      const dev = b.device !== undefined ? ` device "${assertIfName(b.device)}"` : '';
      if (!Number.isInteger(b.priority)) throw new Error(`invalid chain priority ${b.priority}`);
      out.push(`\t\ttype ${b.type} hook ${b.hook}${dev} priority ${b.priority}; policy ${b.policy ?? 'accept'};`);
    }
    for (const r of c.rules) out.push(`\t\t${checkRuleText(typeof r === 'string' ? r : r.rule)} comment "${ruleTag(r)}"`);
    out.push('\t}');
  }
  return out.join('\n');
}

/**
 * The whole-table transaction: make sure the table exists (so the delete cannot fail), delete it
 * and create it anew. nft applies a file as one transaction, so packets see the old table or the
 * new one, never a mix, and other tables are untouched.
 */
export function renderReplaceScript(t: NftTable): string {
  checkName(t.name, 'table');
  return `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\ntable ${t.family} ${t.name} {\n${renderTableBody(t)}\n}\n`;
}

// ---- reading back -------------------------------------------------------------------------

export interface ActualSet {
  type: string;
  flags: string[];
  /** Canonical element strings (see canonicalElement). */
  elements: string[];
}

export interface ActualChain {
  base?: NftBaseChain;
  /** Rule comments in order ('' for a rule without one, i.e. one not made by us). */
  tags: string[];
}

export interface ActualTable {
  sets: Map<string, ActualSet>;
  chains: Map<string, ActualChain>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One element of `nft -j` output → the canonical string form used for comparison. */
export function jsonElement(e: Json): string {
  if (typeof e === 'string') return canonicalAtom(e);
  if (typeof e === 'number') return String(e);
  if (e && typeof e === 'object' && !Array.isArray(e)) {
    if ('elem' in e) return jsonElement((e.elem as { val: Json }).val);
    if ('prefix' in e) {
      const p = e.prefix as { addr: string; len: number };
      return canonicalAtom(`${p.addr}/${p.len}`);
    }
    if ('range' in e) {
      const [a, b] = e.range as [Json, Json];
      return canonicalAtom(`${jsonElement(a)}-${jsonElement(b)}`);
    }
    if ('concat' in e) return (e.concat as Json[]).map(jsonElement).join(' . ');
  }
  throw new Error(`unsupported nftables set element ${JSON.stringify(e)}`);
}

const big = (ip: string) => ipaddr.parse(ip).toByteArray().reduce((v, b) => (v << 8n) | BigInt(b), 0n);

function isIp(s: string): boolean {
  try {
    canonicalIp(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Canonical form of one element part, matching what nft prints: compressed lower-case IPv6,
 * no /32 or /128, an address range that is exactly a prefix as the prefix, a one-value range
 * as the value, numbers without leading zeros, strings without quotes.
 */
export function canonicalAtom(s: string): string {
  s = s.trim();
  if (/^"[^"]*"$/.test(s)) return s.slice(1, -1);
  const slash = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (slash && isIp(slash[1]!)) {
    const ip = canonicalIp(slash[1]!);
    const bits = ipFamily(ip) === 4 ? 32 : 128;
    const len = Number(slash[2]);
    if (len > bits) throw new Error(`invalid prefix ${s}`);
    if (len === bits) return ip;
    const host = (1n << BigInt(bits - len)) - 1n;
    if ((big(ip) & host) !== 0n) throw new Error(`prefix ${s} has host bits set`);
    return `${ip}/${len}`;
  }
  const dash = /^([^-\s]+)-([^-\s]+)$/.exec(s);
  if (dash) {
    const [a, b] = [dash[1]!, dash[2]!];
    if (isIp(a) && isIp(b)) {
      const [x, y] = [canonicalIp(a), canonicalIp(b)];
      if (x === y) return x;
      const bits = ipFamily(x) === 4 ? 32 : 128;
      const [lo, hi] = [big(x), big(y)];
      const size = hi - lo + 1n;
      // A range covering exactly an aligned power of two is printed as that prefix.
      if (size > 0n && (size & (size - 1n)) === 0n && lo % size === 0n) {
        const len = bits - (size.toString(2).length - 1);
        return len === bits ? x : `${x}/${len}`;
      }
      return `${x}-${y}`;
    }
    if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) === Number(b) ? String(Number(a)) : `${Number(a)}-${Number(b)}`;
    return s;
  }
  if (isIp(s)) return canonicalIp(s);
  if (/^\d+$/.test(s)) return String(Number(s));
  return s;
}

/** A desired element ('10.0.0.1 . 22', …) in canonical form. */
export function canonicalElement(e: string): string {
  return e.split(' . ').map(canonicalAtom).join(' . ');
}

/** Parses `nft -j list table …` into what planTable compares. */
export function parseNftTable(json: string): ActualTable {
  const doc = JSON.parse(json) as { nftables: Array<Record<string, Record<string, Json>>> };
  const t: ActualTable = { sets: new Map(), chains: new Map() };
  const rules: Array<Record<string, Json>> = [];
  for (const item of doc.nftables) {
    if (item.set) {
      const s = item.set;
      t.sets.set(String(s.name), {
        type: Array.isArray(s.type) ? (s.type as string[]).join(' . ') : String(s.type),
        flags: ((s.flags as string[] | undefined) ?? []).slice().sort(),
        elements: ((s.elem as Json[] | undefined) ?? []).map(jsonElement).sort(),
      });
    } else if (item.chain) {
      const c = item.chain;
      const ch: ActualChain = { tags: [] };
      if (c.hook !== undefined) {
        ch.base = { type: c.type as NftBaseChain['type'], hook: c.hook as NftBaseChain['hook'], priority: Number(c.prio), policy: (c.policy as 'accept' | 'drop' | undefined) ?? 'accept' };
        if (c.dev !== undefined) ch.base.device = String(c.dev);
      }
      t.chains.set(String(c.name), ch);
    } else if (item.rule) rules.push(item.rule);
  }
  // nft lists rules in chain order; a rule of an unknown chain cannot happen, but be safe.
  for (const r of rules) t.chains.get(String(r.chain))?.tags.push(typeof r.comment === 'string' ? r.comment : '');
  return t;
}

/** The table as the kernel has it, or null if it does not exist. One read. */
export async function readNftTable(family: NftFamily, name: string, t?: Target): Promise<ActualTable | null> {
  const r = await execOf(t)({ argv: ['nft', '-j', 'list', 'table', family, checkName(name, 'table')], netns: t?.netns, okCodes: [0, 1] });
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new Error(`nft -j list table ${family} ${name} failed: ${r.stderr.trim()}`);
  }
  return parseNftTable(r.stdout);
}

// ---- the pure comparison -------------------------------------------------------------------

export type NftPlan =
  | { kind: 'none' }
  | { kind: 'elements'; script: string }
  | { kind: 'replace'; script: string; why: string };

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** What has to change, and the one transaction that changes it; { kind: 'none' } if nothing. */
export function planTable(desired: NftTable, actual: ActualTable | null): NftPlan {
  const replace = (why: string): NftPlan => ({ kind: 'replace', script: renderReplaceScript(desired), why });
  if (!actual) return replace('table missing');
  const sets = desired.sets ?? [];
  if (actual.sets.size !== sets.length || sets.some((s) => !actual.sets.has(s.name))) return replace('sets differ');
  if (actual.chains.size !== desired.chains.length) return replace('chains differ');
  for (const c of desired.chains) {
    const a = actual.chains.get(c.name);
    if (!a) return replace(`chain ${c.name} missing`);
    if (!sameBase(c.base, a.base)) return replace(`chain ${c.name} declaration differs`);
    if (!sameList(c.rules.map(ruleTag), a.tags)) return replace(`rules of chain ${c.name} differ`);
  }
  const elementLines: string[] = [];
  for (const s of sets) {
    const a = actual.sets.get(s.name)!;
    const type = s.type.split('.').map((x) => x.trim()).join(' . ');
    const flags = (s.flags ?? []).filter((f) => f !== 'dynamic').sort();
    if (a.type !== type || !sameList(a.flags.filter((f) => f !== 'dynamic'), flags)) return replace(`set ${s.name} declaration differs`);
    if (s.manageElements === false) continue;
    const want = new Map((s.elements ?? []).map((e) => [canonicalElement(e), e]));
    const have = new Set(a.elements);
    const del = a.elements.filter((e) => !want.has(e));
    const add = [...want].filter(([c]) => !have.has(c)).map(([, e]) => e);
    // Deletions first: in an interval set a new element may overlap one it replaces.
    if (del.length) elementLines.push(`delete element ${desired.family} ${desired.name} ${s.name} { ${renderElements(del.map(quoteIfName(s)))} }`);
    if (add.length) elementLines.push(`add element ${desired.family} ${desired.name} ${s.name} { ${renderElements(add)} }`);
  }
  return elementLines.length ? { kind: 'elements', script: `${elementLines.join('\n')}\n` } : { kind: 'none' };
}

/** Elements read back from a string-typed set lost their quotes; nft syntax needs them. */
function quoteIfName(s: NftSet): (e: string) => string {
  return /\b(ifname|string)\b/.test(s.type) ? (e) => `"${e}"` : (e) => e;
}

function sameBase(d: NftBaseChain | undefined, a: NftBaseChain | undefined): boolean {
  if (!d || !a) return !d && !a;
  return d.type === a.type && d.hook === a.hook && d.priority === a.priority && (d.policy ?? 'accept') === a.policy && d.device === a.device;
}

// ---- applying -------------------------------------------------------------------------------

/**
 * One reconcile pass for a table: one read, then at most one `nft -f -` transaction.
 * Returns the plan that was carried out ({ kind: 'none' }: nothing was written).
 */
export async function applyNftTable(desired: NftTable, t?: Target): Promise<NftPlan> {
  const plan = planTable(desired, await readNftTable(desired.family, desired.name, t));
  if (plan.kind !== 'none') await execOf(t)({ argv: ['nft', '-f', '-'], input: plan.script, netns: t?.netns, write: true });
  return plan;
}

/** Removes the table if it exists (read first: Debian 12's nft 1.0.6 has no `destroy table`). */
export async function deleteNftTable(family: NftFamily, name: string, t?: Target): Promise<boolean> {
  if (!(await readNftTable(family, name, t))) return false;
  await execOf(t)({ argv: ['nft', 'delete', 'table', family, checkName(name, 'table')], netns: t?.netns, write: true });
  return true;
}
