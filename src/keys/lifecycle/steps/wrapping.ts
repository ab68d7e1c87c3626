// Wrapping that proves itself before anything is stored: a new DEK must unwrap to the same bytes,
// a rewrapped one to the same key as before, and a rotation first checks every stored version.
import { timingSafeEqual } from 'node:crypto';
import { generateDek, type DekSet, type DekVersion } from '../../dek.js';
import type { KeyIdentity } from '../../identity.js';
import type { KeyObservation } from '../../plan.js';
import { UnwrapError, type KeyProvider } from '../../provider.js';

/** A stored key version does not unwrap (or rewrap) under its KEK: a person must restore it. */
export class DamagedVersionError extends Error {
  override name = 'DamagedVersionError';
}

/** A fresh DEK wrapped by the KEK, proven to unwrap to the same bytes before anyone stores it. */
export async function wrapNewDek(provider: KeyProvider, identity: KeyIdentity): Promise<string> {
  const dek = generateDek();
  let back: Buffer | undefined;
  try {
    const wrapped = await provider.wrap(identity, dek);
    back = await provider.unwrap(identity, wrapped);
    if (back.length !== dek.length || !timingSafeEqual(back, dek)) {
      throw new Error(`a key wrapped by ${identity.name} did not unwrap to itself; nothing was stored`);
    }
    return wrapped;
  } finally {
    dek.fill(0);
    back?.fill(0);
  }
}

/** Unwraps every stored version and forgets the results; DamagedVersionError names the first that fails. */
export async function verifyEveryVersion(
  provider: KeyProvider,
  identity: KeyIdentity,
  set: DekSet,
): Promise<void> {
  for (const d of set.versions) {
    try {
      (await provider.unwrap(identity, d.wrapped)).fill(0);
    } catch (e) {
      if (!(e instanceof UnwrapError)) throw e;
      throw new DamagedVersionError(`key version ${d.version} does not unwrap: ${e.message}`);
    }
  }
}

/**
 * The set's versions, those wrapped under a KEK version older than `latest` re-encrypted under
 * it. Each new value is unwrapped and compared with the old one before it may be stored.
 */
export async function rewrapStale(
  o: KeyObservation,
  latest: number | undefined,
  identity: KeyIdentity,
  provider: KeyProvider,
): Promise<{ versions: DekVersion[]; rewrapped: Set<number> }> {
  if (o.keys.state !== 'present') throw new Error('rewrap without a key set');
  const set = o.keys.set;
  const rewrapped = new Set<number>();
  const { rewrap } = provider;
  // The KEK version of each stored version, as observed (the wrapped values have not changed).
  const under = o.wrappedUnder;
  if (latest === undefined || !rewrap || !under) return { versions: [...set.versions], rewrapped };
  const versions: DekVersion[] = [];
  for (const d of set.versions) {
    const kekVersion = under.get(d.version);
    // Unreadable values stay as they are (verifyEveryVersion stops a rotation on them).
    if (kekVersion === undefined || kekVersion >= latest) {
      versions.push(d);
      continue;
    }
    let wrapped: string;
    let before: Buffer | undefined;
    let after: Buffer | undefined;
    try {
      wrapped = await rewrap.call(provider, identity, d.wrapped);
      before = await provider.unwrap(identity, d.wrapped);
      after = await provider.unwrap(identity, wrapped);
      if (before.length !== after.length || !timingSafeEqual(before, after)) {
        throw new UnwrapError('it did not rewrap to the same key', provider.describe().provider);
      }
    } catch (e) {
      if (!(e instanceof UnwrapError)) throw e;
      throw new DamagedVersionError(`key version ${d.version} cannot be rewrapped: ${e.message}`);
    } finally {
      before?.fill(0);
      after?.fill(0);
    }
    versions.push({ ...d, wrapped });
    rewrapped.add(d.version);
  }
  return { versions, rewrapped };
}
