// Batch builders: many changes become the lines of one `ip -batch -` (or `bridge -batch -`), so a
// reconcile pass costs one process and one write however many devices it touches. Both tools stop
// at the first failing line and name it ("Command failed -:N"), which CommandError carries;
// lines before it stay applied (there is no rollback), and the next reconcile pass repairs.
//
// Every value is checked before it becomes a word of a line (see values.ts): a name with a space
// or newline would otherwise smuggle in another command.
import { assertNetnsName, execOf, type Target } from './exec.js';
import { assertIfName, assertWord, canonicalIfAddr, canonicalIp, normalizeMac } from './values.js';

abstract class Batch {
  protected readonly out: string[] = [];
  protected abstract readonly tool: 'ip' | 'bridge';

  get lines(): readonly string[] {
    return this.out;
  }

  get length(): number {
    return this.out.length;
  }

  /** Appends a line built from words; each word is checked. */
  line(...words: Array<string | number>): this {
    this.out.push(words.map((w) => assertWord(String(w))).join(' '));
    return this;
  }

  /** The stdin that apply() feeds the tool (for logs and tests). */
  text(): string {
    return this.out.length ? `${this.out.join('\n')}\n` : '';
  }

  /**
   * Runs all lines in one process; an empty batch runs nothing. Returns the number of lines.
   * `force`: the tool goes on past a failing line (`-force`) and still exits non-zero at the end.
   */
  async apply(t?: Target, o: { force?: boolean } = {}): Promise<number> {
    if (this.out.length === 0) return 0;
    const argv: string[] = [this.tool];
    if (t?.netns) {
      assertNetnsName(t.netns);
      argv.push('-n', t.netns);
    }
    if (o.force) argv.push('-force');
    argv.push('-batch', '-');
    await execOf(t)({ argv, input: this.text(), write: true });
    return this.out.length;
  }
}

export interface LinkAttrs {
  mtu?: number;
  address?: string;
}

export interface VxlanAttrs extends LinkAttrs {
  vni: number;
  /** Source address of the tunnel (this host's tunnel endpoint). */
  local?: string;
  /** Underlay device the tunnel is bound to. */
  dev?: string;
  /** Default 4789 (IANA); the kernel's own default is 0 → 8472, which is never what we want. */
  dstport?: number;
  /** Default false: remote MACs come from the control plane (l2population), not from flooding. */
  learning?: boolean;
  /** Answer ARP from the neighbour table (`ip neigh … dev vxlan`) instead of flooding it. */
  proxy?: boolean;
}

function attrWords(a: LinkAttrs): Array<string | number> {
  const w: Array<string | number> = [];
  if (a.mtu !== undefined) w.push('mtu', checkMtu(a.mtu));
  if (a.address !== undefined) w.push('address', normalizeMac(a.address));
  return w;
}

function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`invalid MTU ${mtu}`);
  return mtu;
}

function checkId(n: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`invalid ${what} ${n}`);
  return n;
}

/** Lines for `ip -batch -`: links, addresses, neighbours. */
export class IpBatch extends Batch {
  protected readonly tool = 'ip' as const;

  addBridge(name: string, a: LinkAttrs = {}): this {
    return this.line('link', 'add', 'name', assertIfName(name), ...attrWords(a), 'type', 'bridge');
  }

  /** A veth pair; the peer may be created directly in another namespace. */
  addVeth(name: string, peer: string, a: LinkAttrs & { peerNetns?: string; peerAddress?: string } = {}): this {
    const peerWords: Array<string | number> = ['peer', 'name', assertIfName(peer)];
    if (a.peerAddress !== undefined) peerWords.push('address', normalizeMac(a.peerAddress));
    if (a.mtu !== undefined) peerWords.push('mtu', checkMtu(a.mtu));
    if (a.peerNetns !== undefined) {
      assertNetnsName(a.peerNetns);
      peerWords.push('netns', a.peerNetns);
    }
    return this.line('link', 'add', 'name', assertIfName(name), ...attrWords(a), 'type', 'veth', ...peerWords);
  }

  addVxlan(name: string, a: VxlanAttrs): this {
    const w: Array<string | number> = ['id', checkId(a.vni, 0xffffff, 'VNI')];
    if (a.local !== undefined) w.push('local', canonicalIp(a.local));
    if (a.dev !== undefined) w.push('dev', assertIfName(a.dev));
    w.push('dstport', checkId(a.dstport ?? 4789, 65535, 'UDP port'));
    w.push(a.learning ? 'learning' : 'nolearning');
    if (a.proxy) w.push('proxy');
    return this.line('link', 'add', 'name', assertIfName(name), ...attrWords(a), 'type', 'vxlan', ...w);
  }

  /** An 802.1Q sub-interface of `parent`. */
  addVlan(name: string, parent: string, vlanId: number, a: LinkAttrs = {}): this {
    return this.line(
      'link',
      'add',
      'link',
      assertIfName(parent),
      'name',
      assertIfName(name),
      ...attrWords(a),
      'type',
      'vlan',
      'id',
      checkId(vlanId, 4094, 'VLAN id'),
    );
  }

  deleteLink(name: string): this {
    return this.line('link', 'del', 'dev', assertIfName(name));
  }

  setMaster(name: string, master: string | null): this {
    return master === null
      ? this.line('link', 'set', 'dev', assertIfName(name), 'nomaster')
      : this.line('link', 'set', 'dev', assertIfName(name), 'master', assertIfName(master));
  }

  setUp(name: string, up: boolean): this {
    return this.line('link', 'set', 'dev', assertIfName(name), up ? 'up' : 'down');
  }

  setMtu(name: string, mtu: number): this {
    return this.line('link', 'set', 'dev', assertIfName(name), 'mtu', checkMtu(mtu));
  }

  setAddress(name: string, mac: string): this {
    return this.line('link', 'set', 'dev', assertIfName(name), 'address', normalizeMac(mac));
  }

  /** Moves the link into another namespace (it disappears from this one). */
  setNetns(name: string, netns: string): this {
    assertNetnsName(netns);
    return this.line('link', 'set', 'dev', assertIfName(name), 'netns', netns);
  }

  addAddr(name: string, cidr: string): this {
    return this.line('addr', 'add', canonicalIfAddr(cidr), 'dev', assertIfName(name));
  }

  delAddr(name: string, cidr: string): this {
    return this.line('addr', 'del', canonicalIfAddr(cidr), 'dev', assertIfName(name));
  }

  /** A permanent neighbour entry (replace: creates it or fixes its MAC in one step). */
  neighReplace(ip: string, mac: string, dev: string): this {
    return this.line('neigh', 'replace', canonicalIp(ip), 'lladdr', normalizeMac(mac), 'dev', assertIfName(dev), 'nud', 'permanent');
  }

  neighDel(ip: string, dev: string): this {
    return this.line('neigh', 'del', canonicalIp(ip), 'dev', assertIfName(dev));
  }
}

/** Lines for `bridge -batch -`: forwarding database entries. */
export class BridgeBatch extends Batch {
  protected readonly tool = 'bridge' as const;

  /**
   * Adds one more remote to an all-zeros/multicast entry (the VXLAN flood list). For a unicast
   * MAC that already exists the kernel silently ignores append: use fdbReplace for those.
   */
  fdbAppend(mac: string, dev: string, dst: string): this {
    return this.line('fdb', 'append', normalizeMac(mac), 'dev', assertIfName(dev), 'dst', canonicalIp(dst), 'self', 'permanent');
  }

  /** Creates a unicast entry or moves it to another remote in one step. */
  fdbReplace(mac: string, dev: string, dst?: string): this {
    const w = ['fdb', 'replace', normalizeMac(mac), 'dev', assertIfName(dev)];
    if (dst !== undefined) w.push('dst', canonicalIp(dst));
    return this.line(...w, 'self', 'permanent');
  }

  /** Removes one remote (with dst) or the whole entry (without). */
  fdbDel(mac: string, dev: string, dst?: string): this {
    const w = ['fdb', 'del', normalizeMac(mac), 'dev', assertIfName(dev)];
    if (dst !== undefined) w.push('dst', canonicalIp(dst));
    return this.line(...w, 'self');
  }
}
