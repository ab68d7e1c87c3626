// Kubernetes resource quantities (`1Gi`, `500M`, `1.5e9`), parsed exactly so that sizes written
// differently compare correctly: the API server normalises what it stores (`1024Mi` comes back as
// `1Gi`), so comparing strings would see growth or shrinkage where there is none.

/** An exact quantity: `coefficient × 10^exponent`. */
export interface Quantity {
  coefficient: bigint;
  exponent: number;
}

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
// Far beyond any real size; keeps a hostile `1e999999999` from building an enormous BigInt.
const MAX_EXPONENT = 1000;

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])|[eE]([+-]?\d+))?$/;

/** Parses a quantity, or returns undefined when the text is not one (same grammar as the API). */
export function parseQuantity(input: string | number): Quantity | undefined {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  if (text === undefined) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, number, suffix, exp] = m;
  const [whole = '', fraction = ''] = number!.split('.');
  let coefficient = BigInt((whole || '0') + fraction);
  let exponent = fraction.length ? -fraction.length : 0;
  if (sign === '-') coefficient = -coefficient;
  if (exp !== undefined) {
    exponent += Number(exp);
  } else if (suffix && suffix in BINARY) {
    coefficient *= 1n << BigInt(10 * BINARY[suffix]!);
  } else {
    exponent += DECIMAL[suffix ?? '']!;
  }
  if (Math.abs(exponent) > MAX_EXPONENT) return undefined;
  return { coefficient, exponent };
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const exponent = Math.min(a.exponent, b.exponent);
  const left = a.coefficient * 10n ** BigInt(a.exponent - exponent);
  const right = b.coefficient * 10n ** BigInt(b.exponent - exponent);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Compares two quantity texts. Throws on text that is not a quantity: callers compare sizes that
 * the API server validated, so a parse failure is a bug to surface, not a size to guess.
 */
export function compareQuantityText(a: string | number, b: string | number): -1 | 0 | 1 {
  const left = parseQuantity(a);
  const right = parseQuantity(b);
  if (!left) throw new Error(`not a quantity: ${String(a)}`);
  if (!right) throw new Error(`not a quantity: ${String(b)}`);
  return compareQuantities(left, right);
}

function numberText(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  // Exponent notation for very large or small numbers is valid quantity syntax too.
  return String(n);
}
