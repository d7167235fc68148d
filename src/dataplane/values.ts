// Checking and canonicalising the values that end up as words in `ip -batch` / `bridge -batch`
// lines. Two reasons: a value with a space or newline would inject another command into a batch,
// and desired-vs-actual comparisons only find "no change" if both sides are spelled the way the
// kernel's tools print them (lower-case MACs, compressed IPv6, no /32).
import ipaddr from 'ipaddr.js';

/** Linux IFNAMSIZ is 16 including the NUL: at most 15 characters, no '/', ':' or whitespace. */
export function assertIfName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`invalid interface name ${JSON.stringify(name)} (1-15 characters of A-Z a-z 0-9 _ . -)`);
  }
  return name;
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function normalizeMac(mac: string): string {
  if (!MAC_RE.test(mac)) throw new Error(`invalid MAC address ${JSON.stringify(mac)}`);
  return mac.toLowerCase();
}

export const ZERO_MAC = '00:00:00:00:00:00';

/** All-zeros (VXLAN's default/flood entry) or group bit set: entries that hold several remotes. */
export function isFloodMac(mac: string): boolean {
  return mac === ZERO_MAC || (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** Canonical text of an IP address as iproute2 and nft print it; throws on anything else. */
export function canonicalIp(ip: string): string {
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return ipaddr.IPv4.parse(ip).toString();
  if (ip.includes(':') && ipaddr.IPv6.isValid(ip) && !ip.includes('%')) return ipaddr.IPv6.parse(ip).toString();
  throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
}

export function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** "addr/len" with a canonical address; the address keeps its host bits (an interface address). */
export function canonicalIfAddr(cidr: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) throw new Error(`invalid address/prefix ${JSON.stringify(cidr)}`);
  const ip = canonicalIp(m[1]!);
  const len = Number(m[2]);
  if (len > (ipFamily(ip) === 4 ? 32 : 128)) throw new Error(`invalid prefix length in ${JSON.stringify(cidr)}`);
  return `${ip}/${len}`;
}

/** A word for a batch line: no whitespace, quotes, comment or separator characters. */
export function assertWord(w: string, what = 'value'): string {
  if (w.length === 0 || /[\s"'\\#;{}]/.test(w)) throw new Error(`invalid ${what} ${JSON.stringify(w)}`);
  return w;
}
