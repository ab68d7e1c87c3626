// The key provider a hub's spec asks for. Construction never throws: a provider that cannot be
// built (PIN or token Secret missing) is returned as one whose every operation
// reports ProviderUnavailableError, so the lifecycle fails closed through its one usual path and
// a deletion that keeps the keys still completes.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { HealthDataHub } from '../api/index.js';
import { describeError, statusCode } from '../runtime/errors.js';
import { BuiltinKeyProvider } from './builtin.js';
import { instrumentProvider, type KeyMetrics } from './metrics.js';
import { Pkcs11KeyProvider } from './pkcs11.js';
import { moduleRefusal } from './pkcs11-modules.js';
import { tokenRefusal, tokensOfNamespace, type AllowedToken } from './pkcs11-tokens.js';
import { TransitKeyProvider } from './transit.js';
import {
  ProviderUnavailableError,
  type KeyProvider,
  type ProviderDescription,
  type ProviderName,
} from './provider.js';

export interface ProviderDeps {
  core: CoreV1Api;
  /** The operator's namespace: where builtin KEK Secrets live. */
  operatorNamespace: string;
  /** When set, every operation is counted (hdh_key_operations_total, hdh_key_provider_up). */
  metrics?: KeyMetrics | undefined;
  /** PKCS#11 modules the platform allows (--pkcs11-allowed-modules); none when absent. */
  pkcs11AllowedModules?: readonly string[] | undefined;
  /** Which namespace may use which PKCS#11 token (--pkcs11-allowed-tokens); none when absent. */
  pkcs11AllowedTokens?: readonly AllowedToken[] | undefined;
}

/** The provider of `hub`'s spec.encryption, instrumented when deps.metrics is set. */
export async function providerFor(hub: HealthDataHub, deps: ProviderDeps): Promise<KeyProvider> {
  const provider = await buildProvider(hub, deps);
  return deps.metrics ? instrumentProvider(provider, deps.metrics) : provider;
}

async function buildProvider(hub: HealthDataHub, deps: ProviderDeps): Promise<KeyProvider> {
  const enc = hub.spec.encryption ?? {};
  const name = enc.provider ?? 'builtin';
  switch (name) {
    case 'builtin':
      return new BuiltinKeyProvider({ core: deps.core, namespace: deps.operatorNamespace });
    case 'pkcs11': {
      const settings = enc.pkcs11;
      if (!settings) {
        return unavailableProvider(
          'pkcs11',
          'spec.encryption.pkcs11 is missing: set module, tokenLabel and pinSecretRef',
        );
      }
      // A module the platform did not allow is refused before anything else is read or opened.
      const allowedModules = deps.pkcs11AllowedModules ?? [];
      const refused = moduleRefusal(settings.module, allowedModules);
      if (refused) return unavailableProvider('pkcs11', refused);
      // So is a token the hub's namespace may not use: no PIN is read, no login tried.
      const namespace = hub.metadata.namespace!;
      const allowedTokens = tokensOfNamespace(deps.pkcs11AllowedTokens ?? [], namespace);
      const tokenRefused = tokenRefusal(settings.tokenLabel, namespace, deps.pkcs11AllowedTokens ?? []);
      if (tokenRefused) return unavailableProvider('pkcs11', tokenRefused);
      // One trailing line break is dropped (Secrets made from files usually end with one; PINs
      // never do); otherwise the PIN is used exactly as stored.
      const pin = await readSecretValue(deps.core, namespace, settings.pinSecretRef, {
        provider: 'pkcs11',
        what: 'PIN Secret',
        field: 'spec.encryption.pkcs11.pinSecretRef',
        missingFix: "create it with the token's user PIN",
        exact: true,
      });
      if (pin instanceof ProviderUnavailableError) return unavailableProvider('pkcs11', pin);
      return new Pkcs11KeyProvider({
        module: settings.module,
        allowedModules,
        tokenLabel: settings.tokenLabel,
        allowedTokens,
        pin,
        metrics: deps.metrics,
      });
    }
    case 'transit': {
      const settings = enc.transit;
      if (!settings) {
        return unavailableProvider(
          'transit',
          'spec.encryption.transit is missing: set address, mount and authSecretRef',
        );
      }
      const namespace = hub.metadata.namespace!;
      const token = await readSecretValue(deps.core, namespace, settings.authSecretRef, {
        provider: 'transit',
        what: 'token Secret',
        field: 'spec.encryption.transit.authSecretRef',
        missingFix: 'create it with a token whose policy grants the Transit paths (docs/keys.md)',
      });
      if (token instanceof ProviderUnavailableError) return unavailableProvider('transit', token);
      let ca: string | undefined;
      if (settings.caSecretRef) {
        const read = await readSecretValue(deps.core, namespace, settings.caSecretRef, {
          provider: 'transit',
          what: 'CA Secret',
          field: 'spec.encryption.transit.caSecretRef',
          missingFix: "create it with the PEM CA bundle that signs the server's certificate",
          keepTrailingNewline: true,
        });
        if (read instanceof ProviderUnavailableError) return unavailableProvider('transit', read);
        ca = read;
      }
      try {
        return new TransitKeyProvider({
          address: settings.address,
          mount: settings.mount,
          token,
          ca,
          tokenSource: `Secret ${namespace}/${settings.authSecretRef.name} key ${settings.authSecretRef.key}`,
        });
      } catch (e) {
        if (e instanceof ProviderUnavailableError) return unavailableProvider('transit', e);
        throw e;
      }
    }
  }
}

/**
 * A value from a Secret in the hub's namespace (a PIN, a Transit token or a CA bundle). Unless asked to
 * keep it, one trailing line break is dropped. Errors name the Secret and key, never the value.
 */
async function readSecretValue(
  core: CoreV1Api,
  namespace: string,
  ref: { name: string; key: string },
  o: {
    provider: ProviderName;
    what: string;
    field: string;
    missingFix: string;
    keepTrailingNewline?: boolean;
    /** The value is used exactly as stored (a PIN): only an empty one is refused, not a blank one. */
    exact?: boolean;
  },
): Promise<string | ProviderUnavailableError> {
  const where = `${o.what} ${namespace}/${ref.name}`;
  const fail = (message: string) => new ProviderUnavailableError(`${message} (${o.field})`, o.provider);
  let data: Record<string, string> | undefined;
  try {
    data = (await core.readNamespacedSecret({ name: ref.name, namespace })).data;
  } catch (e) {
    if (statusCode(e) === 404) return fail(`${where} does not exist: ${o.missingFix}`);
    return fail(`cannot read ${where}: ${describeError(e)}`);
  }
  const encoded = data?.[ref.key];
  if (encoded === undefined) return fail(`${where} has no key ${JSON.stringify(ref.key)}`);
  let value = Buffer.from(encoded, 'base64').toString('utf8');
  if (!o.keepTrailingNewline) value = value.replace(/\r?\n$/, '');
  if ((o.exact ? value : value.trim()).length === 0) {
    return fail(`${where} key ${JSON.stringify(ref.key)} is empty`);
  }
  return value;
}

/** A provider that cannot be used: every operation rejects with the same error. */
export function unavailableProvider(
  provider: ProviderName,
  reason: string | ProviderUnavailableError,
): KeyProvider {
  const error = typeof reason === 'string' ? new ProviderUnavailableError(reason, provider) : reason;
  const fail = () => Promise.reject(error);
  const description: ProviderDescription = { provider, reference: 'unavailable' };
  return {
    find: fail,
    create: fail,
    wrap: fail,
    unwrap: fail,
    destroy: fail,
    describe: () => description,
  };
}
