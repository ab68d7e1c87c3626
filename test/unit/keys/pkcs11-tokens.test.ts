// Which PKCS#11 tokens a namespace may name, the failed-login budget per token and the PIN-state
// flags: the pure decisions behind refusing a login before it is tried.
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub, type SovereigntyPolicy } from '../../../src/api/index.js';
import { loadSamples, samplePkcs11Tokens } from '../../../src/cli/dev.js';
import { checkReferences } from '../../../src/hub/references.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { Pkcs11KeyProvider } from '../../../src/keys/pkcs11.js';
import { moduleRefusal } from '../../../src/keys/pkcs11-modules.js';
import { ProviderUnavailableError } from '../../../src/keys/provider.js';
import { providerFor } from '../../../src/keys/providers.js';
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
  // A deleting hub is not checked against the references, and unwrap-dek builds the provider
  // itself: the provider layers refuse such a token (and module) on their own.
  it('providerFor and the provider refuse it too, before the PIN Secret is read or the module opened', async () => {
    const reads: string[] = [];
    const core = {
      readNamespacedSecret: (o: { name: string }) => {
        reads.push(o.name);
        return Promise.resolve({ data: { pin: Buffer.from('1234').toString('base64') } });
      },
    } as unknown as CoreV1Api;
    const deps = { core, operatorNamespace: 'hdh-system', ...platform };
    const kek = keyIdentity({
      namespace: 'attacker',
      name: 'h',
      uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
    });
    const refused = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ProviderUnavailableError);
      return (e as Error).message;
    };

    const token = await providerFor(hub('attacker', 'victim-hsm'), deps);
    expect(await refused(token.find(kek))).toBe(
      tokenRefusal('victim-hsm', 'attacker', platform.pkcs11AllowedTokens),
    );
    const module = await providerFor(hub('attacker', 'attacker-hsm'), { ...deps, pkcs11AllowedModules: [] });
    expect(await refused(module.find(kek))).toBe(moduleRefusal(MODULE, []));
    expect(reads).toEqual([]);

    // The provider as built from its options: the token is refused before the (allowed, but not
    // installed) module is looked at.
    const direct = new Pkcs11KeyProvider({
      module: MODULE,
      allowedModules: [MODULE],
      tokenLabel: 'victim-hsm',
      allowedTokens: tokensOfNamespace(platform.pkcs11AllowedTokens, 'attacker'),
      pin: '1234',
    });
    expect(await refused(direct.find(kek))).toMatch(
      /PKCS#11 token "victim-hsm" \(spec.encryption.pkcs11.tokenLabel\) is not one this hub's namespace may use/,
    );
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
