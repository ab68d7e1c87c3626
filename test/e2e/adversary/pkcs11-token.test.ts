// A tenant names another tenant's PKCS#11 token in its hub and tries PINs through the operator:
// each wrong PIN used to be tried once, and the status told a refused PIN from a working one, so
// a 4-digit PIN fell in about a hundred guesses (and a token that locks its PIN after a few
// failures was locked). The platform now maps tokens to namespaces (--pkcs11-allowed-tokens): a
// token the hub's namespace may not use is refused before any login, with one message whether
// or not it exists. On its own tokens a tenant gets a few failed logins per token and window,
// whatever the PINs, and then no login at all until the window has passed.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../../src/api/index.js';
import { finalizePkcs11Modules, pkcs11Module } from '../../../src/keys/pkcs11.js';
import { ALLOWED_TOKENS_FLAG, DEFAULT_LOGIN_BUDGET } from '../../../src/keys/pkcs11-tokens.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  deleteNamespaceAndWait,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createSoftHsmToken, softHsmAllowedModulesFlag, type SoftHsmToken } from '../../support/softhsm.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { tenantAdmin } from '../../support/tenant.js';
import { eventually } from '../../support/wait.js';

/** Whether the token reports a failed login since its last good one (SoftHSM2 sets this flag). */
function failedLoginSeen(token: SoftHsmToken): boolean {
  const { lib, pk } = pkcs11Module(token.module);
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.label);
  if (!slot) throw new Error(`token ${token.label} not found`);
  return (lib.C_GetTokenInfo(slot).flags & pk.CKF_USER_PIN_COUNT_LOW) !== 0;
}

describe("a tenant naming another tenant's PKCS#11 token and guessing its PIN", () => {
  const admin = testKubeConfig();
  let tenant: KubeConfig;
  let ns: string;
  let victimNs: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;
  let victim: SoftHsmToken;
  let own: SoftHsmToken;

  /** A hub of the tenant's naming `label`, with its own PIN Secret holding `pin`. */
  const tenantHub = async (name: string, label: string, pin: string) => {
    await tenant.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: `${name}-pin` }, stringData: { pin } },
    });
    const hub = hubManifest(name, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = {
      provider: 'pkcs11',
      pkcs11: { module: victim.module, tokenLabel: label, pinSecretRef: { name: `${name}-pin`, key: 'pin' } },
    } as HealthDataHub['spec']['encryption'];
    await tenant
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: ns, body: hub });
  };
  const keysMessage = async (name: string, want: { status?: string; reason?: string }) =>
    hubCondition(await waitForHubCondition(admin, ns, name, 'KeysReady', want, 30_000), 'KeysReady')!;

  beforeAll(async () => {
    fixtures = await createStorageFixtures(admin, { perNode: 1 });
    ns = await prepareHubNamespace(admin, 'adv-tok');
    victimNs = `${ns}-victim`;
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: victimNs } } });
    tenant = await tenantAdmin(ns);
    const suffix = Date.now().toString(36);
    // The victim's user PIN is 4 digits: the operator must not let anyone guess it.
    victim = createSoftHsmToken(`hdh-victim-${suffix}`, '4821');
    own = createSoftHsmToken(`hdh-own-${suffix}`, '918273');
    // Each namespace has its own token, as docs/security.md advises; the operator watches the
    // tenant's namespace.
    op = await startOperatorProcess([
      `--namespace=${ns}`,
      '--leader-elect=false',
      softHsmAllowedModulesFlag(),
      `${ALLOWED_TOKENS_FLAG}=${victimNs}/${victim.label},${ns}/${own.label}`,
    ]);
  }, 120_000);

  afterAll(async () => {
    // The hubs' finalizers need the running operator.
    await deleteNamespaceAndWait(admin, ns).catch(() => undefined);
    await op?.stop();
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: victimNs })
      .catch(() => undefined);
    await fixtures?.cleanup();
    // SoftHSM2 sees only the tokens present when it was initialised: let the next test file
    // initialise it afresh.
    finalizePkcs11Modules();
  });

  it("refuses the other namespace's token before any login, saying what the platform must map, whether or not it exists", async () => {
    expect(failedLoginSeen(victim)).toBe(false);
    for (const [i, guess] of ['4700', '4701', '4821'].entries()) {
      await tenantHub(`guess-${i}`, victim.label, guess);
    }
    await tenantHub('nosuch', 'hdh-no-such-token', '4700');
    const refusals = [];
    for (const name of ['guess-0', 'guess-1', 'guess-2', 'nosuch']) {
      const keys = await keysMessage(name, { reason: 'Pkcs11TokenNotAllowed' });
      expect(keys.status).toBe('False');
      const hub = await waitForHubCondition(admin, ns, name, 'Stalled', { status: 'True' }, 10_000);
      expect(hubCondition(hub, 'Stalled')!.reason).toBe('Pkcs11TokenNotAllowed');
      refusals.push(keys.message);
    }
    // Wrong PINs, the right PIN and a token that does not exist: one message (but for the label).
    const shapes = refusals.map((m) =>
      m.split(JSON.stringify(victim.label)).join('<t>').split('"hdh-no-such-token"').join('<t>'),
    );
    expect(new Set(shapes).size).toBe(1);
    expect(refusals[0]).toContain(ALLOWED_TOKENS_FLAG);
    expect(refusals[0]).toContain(`namespace ${ns}`);
    expect(refusals[0]).toContain(JSON.stringify(own.label));
    expect(refusals[0]).not.toContain(victimNs);
    // No login was tried: the victim's token saw no failure, and the operator counted no login.
    expect(failedLoginSeen(victim)).toBe(false);
    const text = await op.metrics();
    for (const result of ['success', 'pin_incorrect', 'failed']) {
      expect(metricValue(text, 'hdh_pkcs11_logins_total', { result })).toBe(0);
    }
  }, 90_000);

  it('on its own token, a few wrong PINs and then no login at all, not even with the right PIN', async () => {
    const { failures } = DEFAULT_LOGIN_BUDGET;
    const guesses = Array.from({ length: failures + 1 }, (_, i) => `00000${i}`);
    for (const [i, guess] of guesses.entries()) {
      await tenantHub(`own-${i}`, own.label, guess);
      // One at a time, so that which guesses reached the token is known.
      await keysMessage(`own-${i}`, { status: 'False', reason: 'KeyProviderUnavailable' });
    }
    const messages = await Promise.all(
      guesses.map(
        async (_, i) =>
          hubCondition(await waitForHubCondition(admin, ns, `own-${i}`, 'KeysReady', {}), 'KeysReady')!
            .message,
      ),
    );
    // The token refused the first guesses (retries say so without a login); the next one was not tried.
    for (const m of messages.slice(0, failures)) {
      expect(m).toMatch(/refused the PIN \(CKR_PIN_INCORRECT\)|refused this PIN before/);
    }
    expect(messages[failures]).toMatch(
      /refused too many logins recently; the operator tries no login to it until/,
    );
    expect(failedLoginSeen(own)).toBe(true);

    // The right PIN now waits for the window too: the token gets no login at all.
    await tenantHub('own-right', own.label, own.pin);
    const right = await keysMessage('own-right', { status: 'False', reason: 'KeyProviderUnavailable' });
    expect(right.message).toMatch(/refused too many logins recently/);
    expect(right.message).not.toContain(own.pin);

    const text = await eventually(
      'logins counted',
      async () => {
        const t = await op.metrics();
        return metricValue(t, 'hdh_pkcs11_logins_total', { result: 'skipped_budget' }) >= 2 ? t : undefined;
      },
      20_000,
    );
    expect(metricValue(text, 'hdh_pkcs11_logins_total', { result: 'pin_incorrect' })).toBe(failures);
    expect(metricValue(text, 'hdh_pkcs11_logins_total', { result: 'success' })).toBe(0);
  }, 120_000);
});
