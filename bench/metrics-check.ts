// Checks the server's /metrics against what the benchmark sent: every request the benchmark made
// is tallied by resource (the path without ids), method and status, and after the run the
// server's neutrino_http_requests_total must have grown by exactly as much for each.
import { parseMetricsText } from './metrics-text.js';

const ID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** "/v2.0/ports/<uuid>?fields=id" → "ports", as the server labels the route. */
export function resourceOfPath(path: string): string {
  const parts = path
    .split('?')[0]!
    .split('/')
    .filter((p) => p !== '' && !ID.test(p));
  if (parts[0] === 'v2.0') parts.shift();
  return parts.join('/');
}

export class RequestTally {
  readonly counts = new Map<string, number>();
  add(method: string, path: string, status: number): void {
    const key = `${resourceOfPath(path)} ${method} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}

/** The server's request counters by "resource method status", or null when it serves no /metrics. */
export async function scrapeRequestCounts(endpoint: string): Promise<Map<string, number> | null> {
  const r = await fetch(`${endpoint.replace(/\/$/, '')}/metrics`);
  if (r.status !== 200) return null;
  const out = new Map<string, number>();
  for (const s of parseMetricsText(await r.text())) {
    if (s.name !== 'neutrino_http_requests_total') continue;
    out.set(`${s.labels.resource} ${s.labels.method} ${s.labels.status}`, s.value);
  }
  return out;
}

/** Lines describing every difference between what was sent and what the server counted (none: they match). */
export function compareCounts(sent: RequestTally, before: Map<string, number>, after: Map<string, number>): string[] {
  const problems: string[] = [];
  const keys = new Set([...sent.counts.keys(), ...after.keys()]);
  for (const key of keys) {
    if (key.startsWith('metrics ')) continue; // the scrapes themselves
    const counted = (after.get(key) ?? 0) - (before.get(key) ?? 0);
    const expected = sent.counts.get(key) ?? 0;
    if (counted !== expected) problems.push(`${key}: sent ${expected}, server counted ${counted}`);
  }
  return problems;
}
