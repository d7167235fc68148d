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
// plan is `delete element`/`add element` in one transaction rather than a table rebuild. With
// { incremental: true } a changed chain is flushed and refilled, a new one added, a stale one
// deleted, all in one transaction, and the rest of the table (other ports' chains) is left alone;
// applyNftTables() puts the changes of several tables (e.g. a `bridge` and an `inet` table that
// work together) into one transaction.
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

/** A named map: `map NAME { type KEY : VALUE; … }` (verdict maps for dispatch, data maps). */
export interface NftMap {
  name: string;
  /** Key type: 'ifname', 'mark', 'ipv4_addr', … (as `nft -j` reports it). */
  type: string;
  /** Value type: 'verdict', 'mark', … (as `nft -j` reports it: 'integer' for a ct zone). */
  map: string;
  /** Declared by expressions instead ('iifname : ct zone'), for values that have no type name. */
  typeof?: string;
  flags?: Array<'constant' | 'interval'>;
  /** 'KEY : VALUE' in nft syntax ('"tap1" : jump from-tap1', '5 : jump egress-tap1'). */
  elements?: string[];
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

/** A conntrack helper object (`ct helper NAME { type "ftp" protocol tcp; }`), set by rules with `ct helper set "NAME"`. */
export interface NftCtHelper {
  name: string;
  /** The kernel helper's name: 'ftp', 'tftp', 'sip', … */
  type: string;
  protocol: 'tcp' | 'udp';
}

export interface NftTable {
  family: NftFamily;
  name: string;
  sets?: NftSet[];
  maps?: NftMap[];
  /** Declared before the chains whose rules use them. */
  ctHelpers?: NftCtHelper[];
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
  if (/[\n\r;#\0]/.test(r) || r.trim() === '') throw new Error(`invalid nftables rule ${JSON.stringify(r)}`);
  if (/(^|\s)comment(\s|$)/.test(r)) throw new Error(`nftables rule carries its own comment (use NftRule.comment): ${r}`);
  return r.trim();
}

/**
 * A cache for a pure function of a string: an agent plans the same rules and elements pass
 * after pass (hundreds of ports, thousands of rules), and hashing or parsing them again each
 * time would be most of its work. Cleared when it grows past `max`.
 */
function memo<T>(fn: (s: string) => T, max = 200_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = fn(s);
      if (cache.size >= max) cache.clear();
      cache.set(s, v);
    }
    return v;
  };
}

const tagOf = memo((key: string) => {
  const i = key.indexOf('\0');
  const rule = checkRuleText(key.slice(0, i));
  const comment = key.slice(i + 1);
  if (!/^[A-Za-z0-9 _.:/,=+@-]{0,100}$/.test(comment)) throw new Error(`invalid nftables rule comment ${JSON.stringify(comment)}`);
  const h = createHash('sha256').update(`${rule}\0${comment}`).digest('hex').slice(0, 16);
  return comment ? `${comment} h:${h}` : `h:${h}`;
});

/** The comment a rule is stored with: its own comment (if any) plus the hash of rule + comment. */
export function ruleTag(r: string | NftRule): string {
  return tagOf(typeof r === 'string' ? `${r.trim()}\0` : `${r.rule.trim()}\0${r.comment ?? ''}`);
}

/**
 * The tags of a chain's rules, kept per rules array: an agent renders the same chain objects
 * pass after pass. What each rule said is kept too and compared, so an array edited in place
 * is hashed again.
 */
const chainTagCache = new WeakMap<ReadonlyArray<string | NftRule>, { rules: Array<[string, string | undefined]>; tags: string[] }>();
function chainTags(c: NftChain): string[] {
  const hit = chainTagCache.get(c.rules);
  if (
    hit &&
    hit.rules.length === c.rules.length &&
    c.rules.every((r, i) => {
      const [rule, comment] = hit.rules[i]!;
      return typeof r === 'string' ? r === rule && comment === undefined : r.rule === rule && r.comment === comment;
    })
  )
    return hit.tags;
  const tags = c.rules.map(ruleTag);
  chainTagCache.set(c.rules, { rules: c.rules.map((r) => (typeof r === 'string' ? [r, undefined] : [r.rule, r.comment])), tags });
  return tags;
}

function mapDecl(m: NftMap): string {
  if (m.typeof !== undefined) {
    if (/[\n\r;#{}]/.test(m.typeof) || !m.typeof.includes(' : ')) throw new Error(`invalid nftables map typeof ${JSON.stringify(m.typeof)}`);
    return `typeof ${m.typeof}`;
  }
  return `type ${checkType(m.type)} : ${checkType(m.map)}`;
}

function checkType(type: string): string {
  if (/[\n\r;#{}:]/.test(type) || type.trim() === '') throw new Error(`invalid nftables set or map type ${JSON.stringify(type)}`);
  return type;
}

function renderElements(elems: readonly string[]): string {
  for (const e of elems) if (/[\n\r;#{},]/.test(e) || e.trim() === '') throw new Error(`invalid nftables set element ${JSON.stringify(e)}`);
  return elems.join(', ');
}

function ctHelperDecl(h: NftCtHelper): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(h.type) || !['tcp', 'udp'].includes(h.protocol)) {
    throw new Error(`invalid nftables ct helper ${JSON.stringify(h)}`);
  }
  return `type "${h.type}" protocol ${h.protocol};`;
}

/** A ct helper as compared: what `nft -j` reports of it. */
const ctHelperKey = (h: { type: string; protocol: string }) => `${h.type}/${h.protocol}`;

/** The body of `table FAMILY NAME { … }`: sets first (rules refer to them), then chains. */
export function renderTableBody(t: NftTable): string {
  const out: string[] = [];
  for (const h of t.ctHelpers ?? []) out.push(`\tct helper ${checkName(h.name, 'ct helper')} { ${ctHelperDecl(h)} }`);
  for (const s of t.sets ?? []) {
    out.push(`\tset ${checkName(s.name, 'set')} {`);
    out.push(`\t\ttype ${checkType(s.type)}`);
    if (s.flags?.length) out.push(`\t\tflags ${s.flags.join(',')}`);
    if (s.elements?.length) out.push(`\t\telements = { ${renderElements(s.elements)} }`);
    out.push('\t}');
  }
  for (const m of t.maps ?? []) {
    out.push(`\tmap ${checkName(m.name, 'map')} {`);
    out.push(`\t\t${mapDecl(m)}`);
    if (m.flags?.length) out.push(`\t\tflags ${m.flags.join(',')}`);
    if (m.elements?.length) out.push(`\t\telements = { ${renderElements(m.elements)} }`);
    out.push('\t}');
  }
  for (const c of t.chains) {
    out.push(`\tchain ${checkName(c.name, 'chain')} {`);
    if (c.base) out.push(`\t\t${baseDecl(c.base)}`);
    for (const r of c.rules) out.push(`\t\t${checkRuleText(typeof r === 'string' ? r : r.rule)} comment "${ruleTag(r)}"`);
    out.push('\t}');
  }
  return out.join('\n');
}

function baseDecl(b: NftBaseChain): string {
  const dev = b.device !== undefined ? ` device "${assertIfName(b.device)}"` : '';
  if (!Number.isInteger(b.priority)) throw new Error(`invalid chain priority ${b.priority}`);
  return `type ${b.type} hook ${b.hook}${dev} priority ${b.priority}; policy ${b.policy ?? 'accept'};`;
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
  /** Canonical element strings (see canonicalElement; for maps 'KEY : VALUE'). */
  elements: string[];
}

export interface ActualMap extends ActualSet {
  /** The value type ('verdict', 'mark', …). */
  map: string;
}

export interface ActualChain {
  base?: NftBaseChain;
  /** Rule comments in order ('' for a rule without one, i.e. one not made by us). */
  tags: string[];
}

export interface ActualTable {
  sets: Map<string, ActualSet>;
  /** Absent in tables parsed by older callers' fixtures: treated as none. */
  maps?: Map<string, ActualMap>;
  /** ct helper name → 'type/protocol'; absent: none. */
  ctHelpers?: Map<string, string>;
  chains: Map<string, ActualChain>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One element of `nft -j` output → the canonical string form used for comparison. */
export function jsonElement(e: Json): string {
  if (typeof e === 'string') return canonicalAtom(e);
  if (typeof e === 'number') return String(e);
  // A map element: [key, value].
  if (Array.isArray(e) && e.length === 2) return `${jsonElement(e[0]!)} : ${jsonValue(e[1]!)}`;
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

/** A map element's value as nft prints it: a verdict ('jump CHAIN', 'accept', …) or data. */
function jsonValue(v: Json): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return canonicalAtom(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const [verdict, arg] = Object.entries(v)[0] ?? [];
    if (verdict === 'jump' || verdict === 'goto') return `${verdict} ${(arg as { target: string }).target}`;
    if (verdict && ['accept', 'drop', 'return', 'continue', 'queue'].includes(verdict)) return verdict;
  }
  return jsonElement(v);
}

/** A desired map element 'KEY : VALUE' in canonical form. */
export const canonicalMapElement = memo(canonicalMapElementUncached);

function canonicalMapElementUncached(e: string): string {
  const i = e.indexOf(' : ');
  if (i < 0) throw new Error(`invalid nftables map element ${JSON.stringify(e)} (KEY : VALUE)`);
  const value = e
    .slice(i + 3)
    .trim()
    .replace(/\s+/g, ' ');
  // Data values may be concatenations too ('10.0.0.5 . 22').
  return `${canonicalElement(e.slice(0, i))} : ${/^(jump|goto) |^(accept|drop|return|continue|queue)$/.test(value) ? value : canonicalElement(value)}`;
}

const big = (ip: string) =>
  ipaddr
    .parse(ip)
    .toByteArray()
    .reduce((v, b) => (v << 8n) | BigInt(b), 0n);

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
export const canonicalAtom = memo(canonicalAtomUncached);

function canonicalAtomUncached(s: string): string {
  s = s.trim();
  if (/^"[^"]*"$/.test(s)) return s.slice(1, -1);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s)) return s.toLowerCase();
  if (/^0x[0-9a-f]+$/i.test(s)) return BigInt(s).toString();
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
export const canonicalElement = memo(canonicalElementUncached);

function canonicalElementUncached(e: string): string {
  return e.split(' . ').map(canonicalAtom).join(' . ');
}

/** Parses `nft -j list table …` into what planTable compares. */
export function parseNftTable(json: string): ActualTable {
  const doc = JSON.parse(json) as { nftables: Array<Record<string, Record<string, Json>>> };
  const t: ActualTable = { sets: new Map(), maps: new Map(), ctHelpers: new Map(), chains: new Map() };
  const rules: Array<Record<string, Json>> = [];
  const collection = (s: Record<string, Json>): ActualSet => ({
    type: Array.isArray(s.type) ? (s.type as string[]).join(' . ') : String(s.type),
    flags: ((s.flags as string[] | undefined) ?? []).slice().sort(),
    elements: ((s.elem as Json[] | undefined) ?? []).map(jsonElement).sort(),
  });
  for (const item of doc.nftables) {
    if (item.set) {
      t.sets.set(String(item.set.name), collection(item.set));
    } else if (item.map) {
      t.maps!.set(String(item.map.name), { ...collection(item.map), map: String(item.map.map) });
    } else if (item['ct helper']) {
      const h = item['ct helper'];
      t.ctHelpers!.set(String(h.name), ctHelperKey({ type: String(h.type), protocol: String(h.protocol) }));
    } else if (item.chain) {
      const c = item.chain;
      const ch: ActualChain = { tags: [] };
      if (c.hook !== undefined) {
        ch.base = {
          type: c.type as NftBaseChain['type'],
          hook: c.hook as NftBaseChain['hook'],
          priority: Number(c.prio),
          policy: (c.policy as 'accept' | 'drop' | undefined) ?? 'accept',
        };
        if (c.dev !== undefined) ch.base.device = String(c.dev);
      }
      t.chains.set(String(c.name), ch);
    } else if (item.rule) rules.push(item.rule);
  }
  // nft lists rules in chain order; a rule of an unknown chain cannot happen, but be safe.
  for (const r of rules) t.chains.get(String(r.chain))?.tags.push(typeof r.comment === 'string' ? r.comment : '');
  return t;
}

/**
 * One table out of `nft -j list ruleset` (a namespace's every table at once), as readNftTable
 * reads it; null when the ruleset has no such table.
 */
export function nftTableOfRuleset(json: string, family: NftFamily, name: string): ActualTable | null {
  if (json.trim() === '') return null;
  const doc = JSON.parse(json) as { nftables: Array<Record<string, Record<string, Json>>> };
  let found = false;
  const items = doc.nftables.filter((item) => {
    const [kind, v] = Object.entries(item)[0] ?? [];
    if (!v || v.family !== family) return false;
    if (kind === 'table') return v.name === name && (found = true);
    return v.table === name;
  });
  return found ? parseNftTable(JSON.stringify({ nftables: items })) : null;
}

/**
 * What readNftTable gives back right after `t` was applied: lets a caller that applied a table
 * plan its next change without reading the kernel again (the next full read catches drift).
 */
export function expectedTable(t: NftTable): ActualTable {
  return {
    sets: new Map(
      (t.sets ?? []).map((s) => [
        s.name,
        {
          type: normType(s.type),
          flags: (s.flags ?? []).filter((f) => f !== 'dynamic').sort(),
          elements: s.manageElements === false ? [] : (s.elements ?? []).map(canonicalElement).sort(),
        },
      ]),
    ),
    maps: new Map(
      (t.maps ?? []).map((m) => [
        m.name,
        { type: normType(m.type), map: m.map, flags: [...(m.flags ?? [])].sort(), elements: (m.elements ?? []).map(canonicalMapElement).sort() },
      ]),
    ),
    ctHelpers: new Map((t.ctHelpers ?? []).map((h) => [h.name, ctHelperKey(h)])),
    chains: new Map(
      t.chains.map((c) => [c.name, { ...(c.base ? { base: { ...c.base, policy: c.base.policy ?? 'accept' } } : {}), tags: chainTags(c) }]),
    ),
  };
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

/** The namespace's tables as "family name" (e.g. "inet filter"): one cheap read, no rules listed. */
export async function listNftTables(t?: Target): Promise<Set<string>> {
  const r = await execOf(t)({ argv: ['nft', 'list', 'tables'], netns: t?.netns });
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => /^table (\S+) (\S+)/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]} ${m[2]}`),
  );
}

// ---- the pure comparison -------------------------------------------------------------------

export type NftPlan =
  | { kind: 'none' }
  | { kind: 'elements'; script: string }
  /** Incremental: chains, sets or maps added, refilled or deleted; the rest left alone. */
  | { kind: 'changes'; script: string; why: string }
  | { kind: 'replace'; script: string; why: string };

export interface PlanOptions {
  /**
   * Change only what differs: a chain whose rules differ is flushed and refilled, missing chains,
   * sets and maps are added and stale ones deleted. Without it any such difference replaces the
   * whole table. Either way a declaration that differs (set type, base chain hook) replaces it.
   */
  incremental?: boolean;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A set or a map, for what planTable does to both alike. */
interface Collection {
  what: 'set' | 'map';
  name: string;
  /** 'ipv4_addr . inet_service', or for maps 'KEY : VALUE': as `nft -j` reports it. */
  decl: string;
  /** What `add set|map … { … }` declares. */
  declText: string;
  flags: string[];
  elements?: string[];
  manageElements: boolean;
  canonical(e: string): string;
  /** nft syntax of an element to delete, from its canonical form. */
  deleteForm(canonical: string): string;
}

const normType = (t: string) =>
  t
    .split('.')
    .map((x) => x.trim())
    .join(' . ');

function collections(t: NftTable): Collection[] {
  const out: Collection[] = [];
  for (const s of t.sets ?? []) {
    const q = quoteIfName(s.type);
    out.push({
      what: 'set',
      name: s.name,
      decl: normType(checkType(s.type)),
      declText: `type ${s.type}`,
      flags: (s.flags ?? []).filter((f) => f !== 'dynamic').sort(),
      elements: s.elements,
      manageElements: s.manageElements !== false,
      canonical: canonicalElement,
      deleteForm: q,
    });
  }
  for (const m of t.maps ?? []) {
    const q = quoteIfName(m.type);
    out.push({
      what: 'map',
      name: m.name,
      decl: `${normType(checkType(m.type))} : ${checkType(m.map)}`,
      declText: mapDecl(m),
      flags: [...(m.flags ?? [])].sort(),
      elements: m.elements,
      manageElements: true,
      canonical: canonicalMapElement,
      deleteForm: (c) => q(c.slice(0, c.indexOf(' : '))),
    });
  }
  return out;
}

function actualCollection(actual: ActualTable, c: Collection): ActualSet | null {
  if (c.what === 'set') return actual.sets.get(c.name) ?? null;
  const m = actual.maps?.get(c.name);
  return m ? { ...m, type: `${m.type} : ${m.map}` } : null;
}

/** What has to change, and the one transaction that changes it; { kind: 'none' } if nothing. */
export function planTable(desired: NftTable, actual: ActualTable | null, opts: PlanOptions = {}): NftPlan {
  const replace = (why: string): NftPlan => ({ kind: 'replace', script: renderReplaceScript(desired), why });
  if (!actual) return replace('table missing');
  const T = `${desired.family} ${checkName(desired.name, 'table')}`;
  const colls = collections(desired);
  const actualMaps = actual.maps ?? new Map<string, ActualMap>();
  const wantColl = new Set(colls.map((c) => `${c.what} ${c.name}`));
  const staleColl = [...[...actual.sets.keys()].map((n) => `set ${n}`), ...[...actualMaps.keys()].map((n) => `map ${n}`)].filter(
    (k) => !wantColl.has(k),
  );
  const wantChains = new Set(desired.chains.map((c) => c.name));
  const staleChains = [...actual.chains.keys()].filter((n) => !wantChains.has(n));
  // ct helper objects cannot be changed in place: a new one is added, a stale one deleted once
  // no rule uses it, one whose type or protocol differs replaces the table.
  const actualHelpers = actual.ctHelpers ?? new Map<string, string>();
  const wantHelpers = new Map((desired.ctHelpers ?? []).map((h) => [h.name, h]));
  const staleHelpers = [...actualHelpers.keys()].filter((n) => !wantHelpers.has(n));
  const newHelpers = [...wantHelpers.values()].filter((h) => !actualHelpers.has(h.name));
  for (const h of wantHelpers.values()) {
    const a = actualHelpers.get(h.name);
    if (a !== undefined && a !== ctHelperKey(h)) return replace(`ct helper ${h.name} differs`);
  }
  if (!opts.incremental) {
    if (staleHelpers.length || newHelpers.length) return replace('ct helpers differ');
    if (staleColl.length || colls.some((c) => !actualCollection(actual, c))) return replace('sets differ');
    if (staleChains.length || actual.chains.size !== desired.chains.length) return replace('chains differ');
  }

  // The transaction, in an order where every reference is valid at each step: new sets, maps and
  // chains first; stale elements out (so nothing points at a chain about to go); changed and
  // stale chains flushed; new elements and rules in; then stale sets, maps and chains deleted.
  const addDecl: string[] = [];
  const addChains: string[] = [];
  const delElems: string[] = [];
  const flush: string[] = [];
  const addElems: string[] = [];
  const addRules: string[] = [];
  const why: string[] = [];
  for (const h of newHelpers) {
    addDecl.push(`add ct helper ${T} ${checkName(h.name, 'ct helper')} { ${ctHelperDecl(h)} }`);
    why.push(`ct helper ${h.name} added`);
  }
  for (const c of colls) {
    const a = actualCollection(actual, c);
    if (
      a &&
      (a.type !== c.decl ||
        !sameList(
          a.flags.filter((f) => f !== 'dynamic'),
          c.flags,
        ))
    )
      return replace(`${c.what} ${c.name} declaration differs`);
    if (!a) {
      if (!opts.incremental) return replace(`${c.what} ${c.name} missing`);
      addDecl.push(`add ${c.what} ${T} ${checkName(c.name, c.what)} { ${c.declText};${c.flags.length ? ` flags ${c.flags.join(',')};` : ''} }`);
      why.push(`${c.what} ${c.name} added`);
    }
    if (!c.manageElements && a) continue;
    const want = new Map((c.elements ?? []).map((e) => [c.canonical(e), e]));
    const have = new Set(a?.elements ?? []);
    const del = (a?.elements ?? []).filter((e) => !want.has(e));
    const add = [...want].filter(([k]) => !have.has(k)).map(([, e]) => e);
    // Deletions first: in an interval set a new element may overlap one it replaces.
    if (del.length) delElems.push(`delete element ${T} ${c.name} { ${renderElements(del.map(c.deleteForm))} }`);
    if (add.length) addElems.push(`add element ${T} ${c.name} { ${renderElements(add)} }`);
  }
  const ruleLines = (c: NftChain) =>
    c.rules.map((r) => `add rule ${T} ${c.name} ${checkRuleText(typeof r === 'string' ? r : r.rule)} comment "${ruleTag(r)}"`);
  for (const c of desired.chains) {
    const a = actual.chains.get(c.name);
    if (a && !sameBase(c.base, a.base)) return replace(`chain ${c.name} declaration differs`);
    if (!a) {
      if (!opts.incremental) return replace(`chain ${c.name} missing`);
      addChains.push(`add chain ${T} ${checkName(c.name, 'chain')}${c.base ? ` { ${baseDecl(c.base)} }` : ''}`);
      addRules.push(...ruleLines(c));
      why.push(`chain ${c.name} added`);
    } else if (!sameList(chainTags(c), a.tags)) {
      if (!opts.incremental) return replace(`rules of chain ${c.name} differ`);
      flush.push(`flush chain ${T} ${c.name}`);
      addRules.push(...ruleLines(c));
      why.push(`rules of chain ${c.name} differ`);
    }
  }
  for (const n of staleChains) flush.push(`flush chain ${T} ${n}`);
  const delColl = staleColl.map((k) => `delete ${k.replace(' ', ` ${T} `)}`);
  const delChains = staleChains.map((n) => `delete chain ${T} ${n}`);
  for (const k of staleColl) why.push(`${k} deleted`);
  for (const n of staleChains) why.push(`chain ${n} deleted`);
  const delHelpers = staleHelpers.map((n) => `delete ct helper ${T} ${n}`);
  for (const n of staleHelpers) why.push(`ct helper ${n} deleted`);
  const lines = [...addDecl, ...addChains, ...delElems, ...flush, ...addElems, ...addRules, ...delColl, ...delChains, ...delHelpers];
  if (!lines.length) return { kind: 'none' };
  const script = `${lines.join('\n')}\n`;
  return why.length ? { kind: 'changes', script, why: why.join('; ') } : { kind: 'elements', script };
}

/** Elements read back from a string-typed set lost their quotes; nft syntax needs them. */
function quoteIfName(type: string): (e: string) => string {
  const parts = normType(type).split(' . ');
  const quote = parts.map((t) => /\b(ifname|string)\b/.test(t));
  if (!quote.some(Boolean)) return (e) => e;
  // In a concatenation only the string-typed parts are quoted.
  return (e) =>
    e
      .split(' . ')
      .map((x, i) => (quote[i] ? `"${x}"` : x))
      .join(' . ');
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
export async function applyNftTable(desired: NftTable, t?: Target, opts: PlanOptions = {}): Promise<NftPlan> {
  const plan = planTable(desired, await readNftTable(desired.family, desired.name, t), opts);
  await applyNftPlans([plan], t);
  return plan;
}

/**
 * Several tables in one pass: one read each, then at most one `nft -f -` transaction for all
 * their changes together, so packets never see one table changed and the other not yet.
 */
export async function applyNftTables(desired: readonly NftTable[], t?: Target, opts: PlanOptions = {}): Promise<NftPlan[]> {
  const plans: NftPlan[] = [];
  for (const d of desired) plans.push(planTable(d, await readNftTable(d.family, d.name, t), opts));
  await applyNftPlans(plans, t);
  return plans;
}

/** Carries out plans (made from reads of the same moment) in one transaction; none: no write. */
export async function applyNftPlans(plans: readonly NftPlan[], t?: Target): Promise<void> {
  const script = plans.map((p) => (p.kind === 'none' ? '' : p.script)).join('');
  if (script) await execOf(t)({ argv: ['nft', '-f', '-'], input: script, netns: t?.netns, write: true });
}

/** Removes the table if it exists (read first: Debian 12's nft 1.0.6 has no `destroy table`). */
export async function deleteNftTable(family: NftFamily, name: string, t?: Target): Promise<boolean> {
  if (!(await readNftTable(family, name, t))) return false;
  await execOf(t)({ argv: ['nft', 'delete', 'table', family, checkName(name, 'table')], netns: t?.netns, write: true });
  return true;
}
