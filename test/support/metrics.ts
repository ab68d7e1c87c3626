/** Sums the samples of one metric in Prometheus text format whose labels match `where`. */
export function metricValue(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    if (Object.entries(where).every(([k, v]) => labels[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Sum over the samples whose label `key` satisfies `pred`. */
export function metricSumWhere(
  text: string,
  name: string,
  key: string,
  pred: (v: string) => boolean,
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = new RegExp(`${key}="([^"]*)"`).exec(m[2]!)?.[1];
    if (v !== undefined && pred(v)) sum += Number(m[3]);
  }
  return sum;
}
