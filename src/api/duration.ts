// Durations as Kubernetes and Go write them (`2160h`, `1h30m`, `90s`), restricted to what the CRD
// admits for spec.encryption.rotationInterval: each unit at most once, from hours down, with
// bounded digits so that no accepted text overflows a Go duration (about 292 years).
const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  ns: 1e-6,
};

/**
 * The grammar, as written in the CRD's rules (test/unit/api/crds.test.ts checks they agree):
 * per unit, at most 6 digits of hours, 7 of minutes, 9 of seconds, 12 of ms, 15 of us, 18 of ns.
 */
export const DURATION_PATTERN =
  '^([0-9]{1,6}(\\.[0-9]{1,9})?h)?([0-9]{1,7}(\\.[0-9]{1,9})?m)?([0-9]{1,9}(\\.[0-9]{1,9})?s)?' +
  '([0-9]{1,12}(\\.[0-9]{1,9})?ms)?([0-9]{1,15}(\\.[0-9]{1,9})?us)?([0-9]{1,18}(\\.[0-9]{1,9})?ns)?$';
const WHOLE = new RegExp(DURATION_PATTERN);
const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g;

/** The longest rotationInterval the CRD accepts: 87600h, ten years. */
export const MAX_DURATION_MS = 87_600 * 3_600_000;

/** Milliseconds in a duration; throws on anything the CRD would refuse, the bounds included. */
export function parseDuration(text: string): number {
  if (text === '' || !WHOLE.test(text)) {
    throw new Error(
      `${JSON.stringify(text)} is not a duration such as 2160h or 1h30m (units h, m, s, ms, us, ns, each at most once and in that order)`,
    );
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (ms > MAX_DURATION_MS) throw new Error(`${JSON.stringify(text)} is longer than 87600h (10 years)`);
  return ms;
}
