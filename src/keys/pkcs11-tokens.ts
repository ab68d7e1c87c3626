// Which PKCS#11 tokens a namespace may use, and how many failed logins a token is spared. A hub's
// spec (which a tenant writes) names a token label and a PIN Secret; without a mapping, a tenant
// could name another tenant's token and guess its PIN through the operator, or lock the token's
// user PIN with failed logins. So the platform maps tokens to namespaces
// (--pkcs11-allowed-tokens), and a label its namespace may not use is refused before the module
// is opened: the refusal never tells whether such a token exists.

export const ALLOWED_TOKENS_FLAG = '--pkcs11-allowed-tokens';

/** One namespace's right to one token. */
export interface AllowedToken {
  namespace: string;
  label: string;
}

// A namespace name (RFC 1123 label): it cannot contain '/', so the first '/' ends it.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// CK_TOKEN_INFO.label is 32 bytes, padded with spaces.
const MAX_LABEL_BYTES = 32;

/**
 * The flag's value: comma-separated `<namespace>/<token label>` entries. Empty or absent: no
 * namespace may use any token. Throws saying what to fix.
 */
export function parseAllowedTokens(value: string | readonly string[] | undefined): AllowedToken[] {
  const items = (typeof value === 'string' ? value.split(',') : (value ?? [])).map((p) => p.trim());
  const seen = new Set<string>();
  const out: AllowedToken[] = [];
  for (const item of items.filter((p) => p.length > 0)) {
    const slash = item.indexOf('/');
    const namespace = slash < 0 ? '' : item.slice(0, slash);
    const label = slash < 0 ? '' : item.slice(slash + 1);
    const why =
      slash < 0
        ? 'is not <namespace>/<token label>'
        : !NAMESPACE.test(namespace)
          ? `does not start with a namespace name`
          : label.length === 0 || label !== label.trimEnd()
            ? 'has an empty token label or one ending in spaces'
            : Buffer.byteLength(label) > MAX_LABEL_BYTES
              ? `has a token label longer than ${MAX_LABEL_BYTES} bytes`
              : undefined;
    if (why) {
      throw new Error(
        `${ALLOWED_TOKENS_FLAG}: ${JSON.stringify(item)} ${why}; list entries <namespace>/<token label>, comma-separated`,
      );
    }
    if (!seen.has(item)) out.push({ namespace, label });
    seen.add(item);
  }
  return out;
}

/** The labels of the tokens `namespace` may use. */
export function tokensOfNamespace(allowed: readonly AllowedToken[], namespace: string): string[] {
  return allowed.filter((t) => t.namespace === namespace).map((t) => t.label);
}

/**
 * Why a hub in `namespace` may not name token `label`, or undefined when the platform allows it.
 * Decided from the names alone (pure), so the answer is the same whether or not such a token
 * exists, and nothing is logged in to.
 */
export function tokenRefusal(
  label: string,
  namespace: string,
  allowed: readonly AllowedToken[],
): string | undefined {
  const mine = tokensOfNamespace(allowed, namespace);
  if (mine.includes(label)) return undefined;
  const what = `PKCS#11 token ${JSON.stringify(label)} (spec.encryption.pkcs11.tokenLabel) is not one namespace ${namespace} may use`;
  const fix = mine.length
    ? `the platform allows it (${ALLOWED_TOKENS_FLAG}): ${mine.map((l) => JSON.stringify(l)).join(', ')}`
    : `the platform allows it none (the operator flag ${ALLOWED_TOKENS_FLAG} lists no ${namespace}/<token label>)`;
  return `${what}; ${fix}`;
}

/** How many failed logins a token may see within a window before the operator stops trying. */
export interface LoginBudgetLimits {
  failures: number;
  windowMs: number;
}

// Below the lockout threshold of common HSMs (often 3 to 10 tries): three failures in a quarter
// of an hour, whatever the PIN, and the token is left alone until the oldest one is that old.
export const DEFAULT_LOGIN_BUDGET: LoginBudgetLimits = { failures: 3, windowMs: 15 * 60_000 };

/**
 * Failed logins per token (not per PIN), within a sliding window. A success does not reset it:
 * otherwise a tenant sharing a token could guess between the other tenants' logins.
 */
export class LoginBudget {
  private readonly failed = new Map<string, number[]>();

  constructor(
    private readonly limits: LoginBudgetLimits = DEFAULT_LOGIN_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /** When logins to `token` may be tried again, or undefined if they may be now. */
  blockedUntil(token: string): Date | undefined {
    const recent = this.recent(token);
    if (recent.length < this.limits.failures) return undefined;
    return new Date(recent[recent.length - this.limits.failures]! + this.limits.windowMs);
  }

  /** Counts a failed login to `token`. */
  fail(token: string): void {
    this.failed.set(token, [...this.recent(token), this.now()]);
  }

  private recent(token: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const kept = (this.failed.get(token) ?? []).filter((t) => t > since);
    if (kept.length) this.failed.set(token, kept);
    else this.failed.delete(token);
    return kept;
  }
}

/** The token-information flags about the user PIN (CK_TOKEN_INFO.flags). */
export interface PinFlags {
  finalTry: number;
  locked: number;
}

/**
 * Why no login may be tried given the token's flags, or undefined. The next wrong PIN on a token
 * at its final try locks it; a locked one refuses every PIN.
 */
export function pinFlagsRefusal(label: string, flags: number, bits: PinFlags): string | undefined {
  if (flags & bits.locked) {
    return `token ${label} reports its user PIN locked (CKF_USER_PIN_LOCKED): the operator does not log in; the token's security officer must unlock or reset the user PIN`;
  }
  if (flags & bits.finalTry) {
    return `token ${label} reports one login try left before its user PIN locks (CKF_USER_PIN_FINAL_TRY): the operator does not log in; log in once with the right PIN outside the operator (or have the security officer reset the PIN), then check the PIN Secret named by spec.encryption.pkcs11.pinSecretRef`;
  }
  return undefined;
}
