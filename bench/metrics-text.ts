// Samples of Prometheus's text exposition format, for the benchmark's cross-check: one
// `name{label="value",...} number` per line; comments and blank lines skipped.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetricsText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}
