// Durations as Kubernetes and Go write them (`2160h`, `1h30m`, `90s`): the format of
// spec.encryption.rotationInterval, whose CRD pattern admits exactly this grammar.
const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  ns: 1e-6,
};
const WHOLE = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|ns))+$/;
const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g;

/** Milliseconds in a Go-style duration; throws on anything the CRD pattern would refuse. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) throw new Error(`${JSON.stringify(text)} is not a duration such as 2160h or 90m`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  return ms;
}
