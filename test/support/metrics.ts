/** A label matcher: the exact value, or a predicate on it. */
export type LabelMatch = string | ((value: string) => boolean);

/** Sums the samples of one metric in Prometheus text format whose labels match `where`. */
export function metricValue(text: string, name: string, where: Record<string, LabelMatch> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const matches = Object.entries(where).every(([k, want]) => {
      const v = labels[k];
      return v !== undefined && (typeof want === 'string' ? v === want : want(v));
    });
    if (matches) sum += Number(m[4]);
  }
  return sum;
}
