import { Registry } from 'prom-client';
import { KeyMetrics, resultOf } from '../../../src/keys/metrics.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
} from '../../../src/keys/provider.js';

describe('KeyMetrics', () => {
  it('registers the key metrics on the given registry', async () => {
    const registry = new Registry();
    const m = new KeyMetrics(registry);
    m.operations.inc({ provider: 'builtin', op: 'find', result: 'success' });
    m.rotations.inc();
    m.providerUp.set({ provider: 'builtin' }, 1);
    const text = await registry.metrics();
    expect(text).toContain('hdh_key_operations_total{provider="builtin",op="find",result="success"} 1');
    expect(text).toContain('hdh_key_rotations_total 1');
    expect(text).toContain('hdh_key_provider_up{provider="builtin"} 1');
  });

  it('names results after the error kinds', () => {
    expect(resultOf(undefined)).toBe('success');
    expect(resultOf(new KeyMissingError('k', 'pkcs11', 'token t'))).toBe('missing');
    expect(resultOf(new KeyExistsError('k', 'pkcs11', 'token t'))).toBe('exists');
    expect(resultOf(new KeyInvalidError('m', 'pkcs11'))).toBe('invalid');
    expect(resultOf(new UnwrapError('m', 'pkcs11'))).toBe('unwrap_failed');
    expect(resultOf(new ProviderUnavailableError('m', 'pkcs11'))).toBe('unavailable');
    expect(resultOf(new Error('bug'))).toBe('error');
  });
});
