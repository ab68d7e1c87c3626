/** Exponential backoff with full jitter in [base*2^n / 2, base*2^n], capped. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 40));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
