// Logging in to a token without ever locking its user PIN: a PIN the token refused is not
// presented again, failed logins per token are budgeted, and a token already at its final try or
// locked is not asked at all.
import { createHmac, randomBytes } from 'node:crypto';
import type * as Pkcs11 from 'pkcs11js';
import type { KeyMetrics } from './metrics.js';
import { pkcs11Unavailable, type Binding, type Handle } from './pkcs11-binding.js';
import { modulesAsNamed } from './pkcs11-modules.js';
import { LoginBudget, pinFlagsRefusal } from './pkcs11-tokens.js';
import { ProviderUnavailableError } from './provider.js';

// PINs a token refused, keyed by an HMAC under a per-process random key (not a plain hash, which
// a short numeric PIN would not protect). A refused PIN is not presented again: hardware tokens
// lock the PIN after a few failures, and a reconcile loop retrying would lock it within minutes.
// A corrected PIN is a different entry, so recovery is automatic.
const refusedPinKey = randomBytes(32);
const refusedPins = new Set<string>();

// Failed logins per token, whatever the PIN: each wrong PIN is tried once, but a tenant can write
// many, and a token locks (or can be guessed) after enough of them. Per process, like the list above.
const loginBudget = new LoginBudget();

/** What came of a login attempt, for hdh_pkcs11_logins_total. */
export type Pkcs11LoginResult =
  'success' | 'pin_incorrect' | 'failed' | 'skipped_budget' | 'skipped_pin_state';

/** The entry a PIN of this module and token has in the list of refused PINs; reveals nothing of it. */
export function refusedPinEntry(module: string, tokenLabel: string, pin: string): string {
  return createHmac('sha256', refusedPinKey)
    .update(`${module}\u0000${tokenLabel}\u0000${pin}`)
    .digest('base64');
}

/** Who logs in: the token, and the PIN as a login call, so that the PIN stays with its owner. */
export interface TokenLogin {
  module: string;
  tokenLabel: string;
  /** refusedPinEntry of the PIN. */
  pinEntry: string;
  /** C_Login as the token's user with the PIN, on session `s`. */
  enterPin: (s: Handle) => void;
  metrics?: KeyMetrics | undefined;
}

/** Logs session `s` in as the token's user, or throws ProviderUnavailableError saying why not. */
export function login(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, flags: number, t: TokenLogin): void {
  if (refusedPins.has(t.pinEntry)) {
    throw new ProviderUnavailableError(
      `token ${t.tokenLabel} refused this PIN before; it is not tried again (tokens lock a PIN after repeated failures): put the right PIN in the Secret named by spec.encryption.pkcs11.pinSecretRef`,
      'pkcs11',
    );
  }
  const count = (result: Pkcs11LoginResult) => t.metrics?.pkcs11Logins.inc({ result });
  // The token as the budget knows it: the same library under another allowed path (a link and
  // its target) is the same token. Resolved only now, once the module is allowed and loaded.
  const budgetKey = `${modulesAsNamed(t.module).at(-1)}\u0000${t.tokenLabel}`;
  const pinState = pinFlagsRefusal(t.tokenLabel, flags, {
    finalTry: pk.CKF_USER_PIN_FINAL_TRY,
    locked: pk.CKF_USER_PIN_LOCKED,
  });
  if (pinState) {
    count('skipped_pin_state');
    throw new ProviderUnavailableError(pinState, 'pkcs11');
  }
  const until = loginBudget.blockedUntil(budgetKey);
  if (until) {
    count('skipped_budget');
    throw new ProviderUnavailableError(
      `token ${t.tokenLabel} refused too many logins recently; the operator tries no login to it until ${until.toISOString()} so that its user PIN does not lock: check the PIN Secret named by spec.encryption.pkcs11.pinSecretRef of each hub using this token`,
      'pkcs11',
    );
  }
  // Tokens set COUNT_LOW after a failed login since the last good one: said on a new failure.
  const earlier = flags & pk.CKF_USER_PIN_COUNT_LOW ? ' (the token reports earlier failed logins too)' : '';
  const attempt = () => t.enterPin(s);
  try {
    try {
      attempt();
    } catch (e) {
      // Someone else's login is still open: end it so that this PIN is checked too.
      if (!(e instanceof pk.Pkcs11Error && e.code === pk.CKR_USER_ALREADY_LOGGED_IN)) throw e;
      lib.C_Logout(s);
      attempt();
    }
  } catch (e) {
    const code = e instanceof pk.Pkcs11Error ? e.code : undefined;
    loginBudget.fail(budgetKey);
    count(code === pk.CKR_PIN_INCORRECT ? 'pin_incorrect' : 'failed');
    if (code === pk.CKR_PIN_INCORRECT) {
      refusedPins.add(t.pinEntry);
      throw new ProviderUnavailableError(
        `token ${t.tokenLabel} refused the PIN (CKR_PIN_INCORRECT)${earlier}: put the right PIN in the Secret named by spec.encryption.pkcs11.pinSecretRef`,
        'pkcs11',
      );
    }
    const fixes = new Map<number | undefined, string>([
      [pk.CKR_PIN_LOCKED, "the token's security officer must unlock or reset the user PIN"],
      [pk.CKR_PIN_EXPIRED, 'the user PIN has expired: set a new one on the token and in the PIN Secret'],
      [pk.CKR_PIN_LEN_RANGE, 'the PIN in the PIN Secret has a length the token does not accept'],
      [pk.CKR_USER_PIN_NOT_INITIALIZED, 'the token has no user PIN yet: initialise it'],
    ]);
    const fix = fixes.get(code);
    throw pkcs11Unavailable(`cannot log in to token ${t.tokenLabel}${fix ? `: ${fix}` : ''}`, e);
  }
  count('success');
}
