// The builtin provider: each hub's KEK is a random 256-bit key in a Secret of the operator's
// namespace. This is the weakest custody hdh-operator offers — anyone who can read Secrets there,
// or read etcd unencrypted, holds every hub's KEK — and exists for clusters without an HSM or a
// Transit engine. The Secret is created once and marked immutable: it is never overwritten.
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { LABEL_HUB, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/index.js';
import { describeError, statusCode } from '../runtime/errors.js';
import { builtinCustody, type KeyCustody } from './custody.js';
import { KEK_BYTES, openWithKey, sealWithKey, wrapAad } from './envelope.js';
import { LABEL_HUB_NAMESPACE, LABEL_HUB_UID, type KeyIdentity } from './identity.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  KeyOwnerError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyInfo,
  type KeyProvider,
  type ProviderDescription,
} from './provider.js';

/** Secret type of builtin KEKs, so they cannot be mistaken for (or mounted as) ordinary Secrets. */
export const KEK_SECRET_TYPE = 'hdh.sovereign.eu/key-encryption-key';
const KEK_DATA_KEY = 'kek';

export interface BuiltinProviderOptions {
  core: CoreV1Api;
  /** The operator's namespace, where the KEK Secrets live. */
  namespace: string;
}

/** The KEK Secret of a hub; pure, so its shape is testable without a cluster. */
export function renderKekSecret(identity: KeyIdentity, namespace: string, kek: Buffer): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: identity.name,
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_HUB]: identity.hub.name,
        [LABEL_HUB_NAMESPACE]: identity.hub.namespace,
        [LABEL_HUB_UID]: identity.hub.uid,
      },
    },
    type: KEK_SECRET_TYPE,
    // Immutable: the API server itself refuses any change of the key, whoever asks.
    immutable: true,
    data: { [KEK_DATA_KEY]: kek.toString('base64') },
  };
}

/** The key held by a KEK Secret, after checking that the Secret is one the operator made. */
export function kekFromSecret(secret: V1Secret, identity: KeyIdentity): Buffer {
  const where = `Secret ${secret.metadata?.namespace}/${secret.metadata?.name}`;
  if (secret.type !== KEK_SECRET_TYPE) {
    throw new KeyInvalidError(
      `${where} is not of type ${KEK_SECRET_TYPE}; it is not a key the operator made`,
      'builtin',
    );
  }
  // The labels are the operator's record of the owner (only the operator writes in its
  // namespace): the whole of it must be this hub's, since a legacy name is ambiguous at hyphens
  // and names another hub's key as readily as this one's. The other hub is not named.
  const labels = secret.metadata?.labels ?? {};
  const { namespace, name, uid } = identity.hub;
  if (
    labels[LABEL_HUB_UID] !== uid ||
    labels[LABEL_HUB_NAMESPACE] !== namespace ||
    labels[LABEL_HUB] !== name
  ) {
    throw new KeyOwnerError(
      `${where} is not the key-encryption key of hub ${namespace}/${name} (uid ${uid}): its labels ` +
        `${LABEL_HUB_NAMESPACE}, ${LABEL_HUB} and ${LABEL_HUB_UID} name another hub`,
      'builtin',
    );
  }
  const encoded = secret.data?.[KEK_DATA_KEY];
  const kek = encoded === undefined ? undefined : Buffer.from(encoded, 'base64');
  if (!kek || kek.length !== KEK_BYTES) {
    kek?.fill(0);
    throw new KeyInvalidError(`${where} does not hold a 256-bit key under "${KEK_DATA_KEY}"`, 'builtin');
  }
  return kek;
}

export class BuiltinKeyProvider implements KeyProvider {
  constructor(private readonly o: BuiltinProviderOptions) {}

  describe(): ProviderDescription {
    return { provider: 'builtin', reference: `Secrets in namespace ${this.o.namespace}` };
  }

  keyRef(identity: KeyIdentity): string {
    return `secret/${this.o.namespace}/${identity.name}`;
  }

  async find(identity: KeyIdentity): Promise<KeyInfo | undefined> {
    const secret = await this.read(identity);
    if (!secret) return undefined;
    // Validate without keeping the key: find reports existence, nothing more.
    kekFromSecret(secret, identity).fill(0);
    return { ref: this.keyRef(identity) };
  }

  async create(identity: KeyIdentity): Promise<KeyInfo> {
    const kek = randomBytes(KEK_BYTES);
    const body = renderKekSecret(identity, this.o.namespace, kek);
    kek.fill(0);
    try {
      // create, not apply: an existing Secret makes this fail (409) instead of being replaced.
      await this.o.core.createNamespacedSecret({ namespace: this.o.namespace, body });
    } catch (e) {
      if (statusCode(e) === 409) throw new KeyExistsError(identity.name, 'builtin', this.where());
      throw this.unavailable('create', identity, e);
    }
    return { ref: this.keyRef(identity) };
  }

  async wrap(identity: KeyIdentity, plaintextDek: Buffer): Promise<string> {
    const kek = await this.kek(identity);
    try {
      return sealWithKey(kek, wrapAad(identity), plaintextDek);
    } finally {
      kek.fill(0);
    }
  }

  async unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer> {
    const kek = await this.kek(identity);
    try {
      return openWithKey(kek, wrapAad(identity), wrapped);
    } catch (e) {
      throw new UnwrapError(`cannot unwrap a key of ${identity.name}: ${(e as Error).message}`, 'builtin');
    } finally {
      kek.fill(0);
    }
  }

  /**
   * Always SecretInCluster: the KEK is a Secret of the operator's namespace, with no attribute to
   * read. The Secret is not read again for it (that would load the key once more for nothing).
   */
  custody(_identity: KeyIdentity): Promise<KeyCustody> {
    return Promise.resolve(builtinCustody(this.o.namespace));
  }

  async destroy(identity: KeyIdentity): Promise<boolean> {
    const secret = await this.read(identity);
    if (!secret) return false;
    kekFromSecret(secret, identity).fill(0); // only ever delete a KEK of this very hub
    try {
      await this.o.core.deleteNamespacedSecret({
        name: identity.name,
        namespace: this.o.namespace,
        // Deletes exactly the object just checked, not one recreated in between.
        body: {
          preconditions: { uid: secret.metadata?.uid, resourceVersion: secret.metadata?.resourceVersion },
        },
      });
      return true;
    } catch (e) {
      if (statusCode(e) === 404) return false;
      throw this.unavailable('delete', identity, e);
    }
  }

  private async kek(identity: KeyIdentity): Promise<Buffer> {
    const secret = await this.read(identity);
    if (!secret) throw new KeyMissingError(identity.name, 'builtin', this.where());
    return kekFromSecret(secret, identity);
  }

  private async read(identity: KeyIdentity): Promise<V1Secret | undefined> {
    try {
      return await this.o.core.readNamespacedSecret({ name: identity.name, namespace: this.o.namespace });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw this.unavailable('read', identity, e);
    }
  }

  private where(): string {
    return `namespace ${this.o.namespace}`;
  }

  // describeError gives the API status message only, never a response body (which could hold
  // Secret data).
  private unavailable(verb: string, identity: KeyIdentity, e: unknown): ProviderUnavailableError {
    const code = statusCode(e);
    const hint =
      code === 401 || code === 403
        ? `; grant the operator permission to ${verb} Secrets in namespace ${this.o.namespace}`
        : code === 404
          ? `; does namespace ${this.o.namespace} exist?`
          : '';
    return new ProviderUnavailableError(
      `cannot ${verb} key Secret ${this.o.namespace}/${identity.name}: ${describeError(e)}${hint}`,
      'builtin',
    );
  }
}
