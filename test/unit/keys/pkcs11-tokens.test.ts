// Which PKCS#11 tokens a namespace may name, the failed-login budget per token and the PIN-state
// flags: the pure decisions behind refusing a login before it is tried.
import { join } from 'node:path';
import { HEALTH_DATA_HUB, type HealthDataHub, type SovereigntyPolicy } from '../../../src/api/index.js';
import { loadSamples, samplePkcs11Tokens } from '../../../src/cli/dev.js';
import { checkReferences } from '../../../src/hub/references.js';
import {
  ALLOWED_TOKENS_FLAG,
  LoginBudget,
  parseAllowedTokens,
  pinFlagsRefusal,
  tokenRefusal,
  tokensOfNamespace,
} from '../../../src/keys/pkcs11-tokens.js';

describe('parseAllowedTokens', () => {
  it('reads <namespace>/<label> entries; empty or absent allows none', () => {
    expect(parseAllowedTokens(undefined)).toEqual([]);
    expect(parseAllowedTokens('')).toEqual([]);
    expect(parseAllowedTokens(' ten-a/hsm a , ten-b/b/with/slash,ten-a/hsm a')).toEqual([
      { namespace: 'ten-a', label: 'hsm a' },
      { namespace: 'ten-b', label: 'b/with/slash' },
    ]);
    expect(parseAllowedTokens(['x/y'])).toEqual([{ namespace: 'x', label: 'y' }]);
  });

  it.each([
    ['no-slash', /is not <namespace>\/<token label>/],
    ['Ten/x', /does not start with a namespace name/],
    ['/x', /does not start with a namespace name/],
    ['ten/', /empty token label/],
    [`ten/${'x'.repeat(33)}`, /longer than 32 bytes/],
  ])('refuses %j, naming the flag', (entry, why) => {
    expect(() => parseAllowedTokens(entry)).toThrow(why);
    expect(() => parseAllowedTokens(entry)).toThrow(ALLOWED_TOKENS_FLAG);
  });
});

describe('tokenRefusal', () => {
  const allowed = parseAllowedTokens('ten-a/hsm-a,ten-b/hsm-b,shared-1/pool,shared-2/pool');

  it("passes a namespace's own tokens and shared ones mapped to it", () => {
    expect(tokenRefusal('hsm-a', 'ten-a', allowed)).toBeUndefined();
    expect(tokenRefusal('pool', 'shared-1', allowed)).toBeUndefined();
    expect(tokenRefusal('pool', 'shared-2', allowed)).toBeUndefined();
    expect(tokensOfNamespace(allowed, 'ten-a')).toEqual(['hsm-a']);
  });

  it("refuses another namespace's token with the same message as a token that does not exist", () => {
    const other = tokenRefusal('hsm-b', 'ten-a', allowed);
    const none = tokenRefusal('no-such', 'ten-a', allowed);
    expect(other).toBeDefined();
    expect(other!.replace('"hsm-b"', '<t>')).toBe(none!.replace('"no-such"', '<t>'));
    expect(other).toContain(ALLOWED_TOKENS_FLAG);
    // The tenant learns only its own tokens, never another namespace's.
    expect(other).toContain('"hsm-a"');
    expect(other).not.toContain('ten-b');
    expect(tokenRefusal('hsm-a', 'unmapped', allowed)).toMatch(/lists no unmapped\/<token label>/);
  });

  it('does not take a label prefix or namespace prefix for a match', () => {
    expect(tokenRefusal('hsm-a2', 'ten-a', allowed)).toBeDefined();
    expect(tokenRefusal('hsm-a', 'ten', allowed)).toBeDefined();
  });
});

describe('checkReferences: a hub naming a token its namespace may not use', () => {
  const policy = {
    metadata: { name: 'eu-hds' },
    spec: { regions: ['fr-par'], keyProviders: ['pkcs11'] },
  } as unknown as SovereigntyPolicy;
  const MODULE = '/usr/lib/vendor/libpkcs11.so';
  const hub = (namespace: string, tokenLabel: string): HealthDataHub =>
    ({
      apiVersion: HEALTH_DATA_HUB.apiVersion,
      kind: HEALTH_DATA_HUB.kind,
      metadata: { name: 'h', namespace, generation: 2 },
      spec: {
        policyName: 'eu-hds',
        storage: { size: '1Gi', storageClassName: 'c' },
        encryption: {
          provider: 'pkcs11',
          pkcs11: { module: MODULE, tokenLabel, pinSecretRef: { name: 'p', key: 'pin' } },
        },
      },
    }) as HealthDataHub;
  const platform = {
    pkcs11AllowedModules: [MODULE],
    pkcs11AllowedTokens: parseAllowedTokens('victim/victim-hsm,attacker/attacker-hsm'),
  };

  it('is KeysReady=False, Pkcs11TokenNotAllowed, saying what the platform must configure', () => {
    const failures = checkReferences(hub('attacker', 'victim-hsm'), policy, platform);
    expect(failures).toEqual([
      expect.objectContaining({
        type: 'KeysReady',
        status: 'False',
        reason: 'Pkcs11TokenNotAllowed',
        observedGeneration: 2,
      }),
    ]);
    expect(failures[0]!.message).toContain(ALLOWED_TOKENS_FLAG);
    expect(failures[0]!.message).toContain('ask the platform team to map this one to it');
    expect(checkReferences(hub('victim', 'victim-hsm'), policy, platform)).toEqual([]);
  });
});

describe('LoginBudget', () => {
  it('stops logins to a token after N failures in the window, whatever the PIN, until the oldest ages out', () => {
    let now = 1_000_000;
    const budget = new LoginBudget({ failures: 3, windowMs: 60_000 }, () => now);
    budget.fail('t');
    now += 10_000;
    budget.fail('t');
    expect(budget.blockedUntil('t')).toBeUndefined();
    now += 10_000;
    budget.fail('t');
    // Blocked until the first failure is a window old.
    expect(budget.blockedUntil('t')).toEqual(new Date(1_000_000 + 60_000));
    // Other tokens are not affected.
    expect(budget.blockedUntil('u')).toBeUndefined();
    now = 1_000_000 + 60_000;
    expect(budget.blockedUntil('t')).toBeUndefined();
    // One more failure blocks it again, until the second failure ages out.
    budget.fail('t');
    expect(budget.blockedUntil('t')).toEqual(new Date(1_010_000 + 60_000));
  });
});

describe('pinFlagsRefusal', () => {
  const bits = { finalTry: 0x20000, locked: 0x40000 };
  const countLow = 0x10000;

  it('logs in with no flag or COUNT_LOW, not at the final try or when locked', () => {
    expect(pinFlagsRefusal('t', 0, bits)).toBeUndefined();
    expect(pinFlagsRefusal('t', countLow, bits)).toBeUndefined();
    expect(pinFlagsRefusal('t', countLow | bits.finalTry, bits)).toMatch(
      /CKF_USER_PIN_FINAL_TRY.*does not log in/,
    );
    expect(pinFlagsRefusal('t', bits.locked, bits)).toMatch(/CKF_USER_PIN_LOCKED.*security officer/);
  });
});

describe('hdh-operator dev: the user is the platform team', () => {
  it("maps the tokens the sample hubs name to the samples' namespace", () => {
    const samples = loadSamples(join(process.cwd(), 'config', 'samples'), 'research');
    const entries = samplePkcs11Tokens(samples);
    expect(entries.length).toBeGreaterThan(0);
    expect(parseAllowedTokens(entries).every((t) => t.namespace === 'research')).toBe(true);
  });
});
