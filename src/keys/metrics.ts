// Key metrics. Labels are provider names, operation names and outcomes only: never a hub
// identity's key material, and no per-hub label (the hub count would set the cardinality).
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyProvider,
} from './provider.js';

export type KeyOperation =
  'find' | 'create' | 'wrap' | 'unwrap' | 'rotate' | 'rewrap' | 'custody' | 'destroy';
export type KeyOperationResult =
  'success' | 'missing' | 'exists' | 'invalid' | 'unwrap_failed' | 'unavailable' | 'error';

export class KeyMetrics {
  readonly operations: Counter<'provider' | 'op' | 'result'>;
  readonly rotations: Counter;
  readonly providerUp: Gauge<'provider'>;
  /** Logins to PKCS#11 tokens, by result (no token label: a hub's spec names it). */
  readonly pkcs11Logins: Counter<'result'>;

  /** Registers the key metrics on `registry` (OperatorMetrics.registry); once per registry. */
  constructor(registry: Registry) {
    this.operations = new Counter({
      name: 'hdh_key_operations_total',
      help: 'Key operations asked of key providers, by provider, operation and result',
      labelNames: ['provider', 'op', 'result'],
      registers: [registry],
    });
    this.rotations = new Counter({
      name: 'hdh_key_rotations_total',
      help: 'Data-encryption key versions added by rotation',
      registers: [registry],
    });
    this.providerUp = new Gauge({
      name: 'hdh_key_provider_up',
      help: 'Whether the last operation reached the key provider (1) or found it unavailable (0)',
      labelNames: ['provider'],
      registers: [registry],
    });
    this.pkcs11Logins = new Counter({
      name: 'hdh_pkcs11_logins_total',
      help: 'Logins to PKCS#11 tokens by result: success, pin_incorrect, failed, or not tried (skipped_budget: too many failed logins to the token recently; skipped_pin_state: the token reports its PIN locked or at its final try)',
      labelNames: ['result'],
      registers: [registry],
    });
  }
}

/** The result label of an operation's outcome. */
export function resultOf(e: unknown): KeyOperationResult {
  if (e === undefined) return 'success';
  if (e instanceof KeyMissingError) return 'missing';
  if (e instanceof KeyExistsError) return 'exists';
  if (e instanceof KeyInvalidError) return 'invalid';
  if (e instanceof UnwrapError) return 'unwrap_failed';
  if (e instanceof ProviderUnavailableError) return 'unavailable';
  return 'error';
}

/**
 * A provider that counts every operation and keeps hdh_key_provider_up current. A provider that
 * answered — even "no such key" — is up; only ProviderUnavailableError marks it down.
 */
export function instrumentProvider(provider: KeyProvider, metrics: KeyMetrics): KeyProvider {
  const name = provider.describe().provider;
  const observe = async <T>(op: KeyOperation, run: () => Promise<T>): Promise<T> => {
    try {
      const value = await run();
      metrics.operations.inc({ provider: name, op, result: 'success' });
      metrics.providerUp.set({ provider: name }, 1);
      return value;
    } catch (e) {
      const result = resultOf(e);
      metrics.operations.inc({ provider: name, op, result });
      if (result !== 'error') metrics.providerUp.set({ provider: name }, result === 'unavailable' ? 0 : 1);
      throw e;
    }
  };
  const rotate = provider.rotate?.bind(provider);
  const rewrap = provider.rewrap?.bind(provider);
  const kekVersionOf = provider.kekVersionOf?.bind(provider);
  const custody = provider.custody?.bind(provider);
  const keyRef = provider.keyRef?.bind(provider);
  const close = provider.close?.bind(provider);
  return {
    find: (id) => observe('find', () => provider.find(id)),
    create: (id) => observe('create', () => provider.create(id)),
    wrap: (id, dek) => observe('wrap', () => provider.wrap(id, dek)),
    unwrap: (id, wrapped) => observe('unwrap', () => provider.unwrap(id, wrapped)),
    destroy: (id) => observe('destroy', () => provider.destroy(id)),
    describe: () => provider.describe(),
    ...(rotate ? { rotate: (id) => observe('rotate', () => rotate(id)) } : {}),
    ...(rewrap ? { rewrap: (id, wrapped) => observe('rewrap', () => rewrap(id, wrapped)) } : {}),
    ...(custody ? { custody: (id) => observe('custody', () => custody(id)) } : {}),
    // Reads the wrapped value only; not an operation at the provider.
    ...(kekVersionOf ? { kekVersionOf } : {}),
    ...(keyRef ? { keyRef } : {}),
    ...(close ? { close } : {}),
  };
}
