// `hdh-operator unwrap-dek`: the init container of a hub's datastore (see src/keys/delivery.ts).
// It reads the hub's wrapped DEKs from the `<hub>-keys` Secret mounted as files, asks the hub's
// key provider to unwrap every version, and writes the plaintext keys into the pod's memory-backed
// volume for the datastore to read. It fails closed: on any doubt it exits non-zero, the pod does
// not start, and the message says what to fix. It never prints key bytes, the PIN or the token.
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { BuiltinKeyProvider } from '../keys/builtin.js';
import {
  DEK_BYTES,
  DEK_SECRET_TYPE,
  dekSecretName,
  kekIdentityOf,
  parseDekSecret,
  type DekSet,
} from '../keys/dek.js';
import { ACTIVE_DEK_FILE, kekServiceAccountName } from '../keys/delivery.js';
import { keyIdentity, type HubRef, type KeyIdentity } from '../keys/identity.js';
import { finalizePkcs11Modules, Pkcs11KeyProvider } from '../keys/pkcs11.js';
import { modulesAsNamed, parseAllowedModules } from '../keys/pkcs11-modules.js';
import type { KeyProvider, ProviderName } from '../keys/provider.js';
import { TransitKeyProvider } from '../keys/transit.js';

export interface UnwrapDekOptions {
  hub: string;
  hubUid: string;
  provider: ProviderName;
  wrappedKeys: string;
  out: string;
  credentials?: string;
  kekNamespace?: string;
  kubeconfig?: string;
  pkcs11Module?: string;
  /** Default: the module named by --pkcs11-module (the operator checked it against its list). */
  pkcs11AllowedModules?: string;
  pkcs11TokenLabel?: string;
  transitAddress?: string;
  transitMount?: string;
}

/** A failure of the command; its message says what to fix and is printed as is. */
export class UnwrapDekError extends Error {
  override name = 'UnwrapDekError';
}

/** Files are readable by the pod's fsGroup (the datastore's user), writable by nobody. */
export const KEY_FILE_MODE = 0o440;
const ACTIVE_VERSION_FILE = 'active-version';

/** `--hub=<namespace>/<name>` and `--hub-uid`, checked as the operator checks hub identities. */
export function parseHub(hub: string, uid: string): HubRef {
  const m = /^([^/]+)\/([^/]+)$/.exec(hub);
  if (!m) throw new UnwrapDekError(`--hub must be <namespace>/<name>, got ${JSON.stringify(hub)}`);
  const ref = { namespace: m[1]!, name: m[2]!, uid };
  try {
    keyIdentity(ref);
  } catch (e) {
    throw new UnwrapDekError(`--hub/--hub-uid: ${(e as Error).message}`);
  }
  return ref;
}

/**
 * The files of a Secret volume: each data key is a file. The kubelet's own entries (`..data`,
 * `..<timestamp>`) start with a dot and are skipped; data keys never do.
 */
export function readSecretDir(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new UnwrapDekError(
      `cannot read the wrapped keys at ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'}): ` +
        'mount the Secret <hub>-keys there',
    );
  }
  const data: Record<string, string> = {};
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    data[name] = readFileSync(path).toString('base64');
  }
  return data;
}

/**
 * The DEK set of the mounted files, checked by the same parser the operator uses on the Secret
 * itself. A volume does not carry the Secret's type; the pod template mounts `<hub>-keys` by
 * name, which only ever has the wrapped-keys type, so the type is restored here.
 */
export function dekSetFromFiles(data: Record<string, string>, hub: HubRef): DekSet {
  const secret: V1Secret = {
    metadata: { namespace: hub.namespace, name: dekSecretName(hub.name) },
    type: DEK_SECRET_TYPE,
    data,
  };
  try {
    return parseDekSecret(secret, hub);
  } catch (e) {
    throw new UnwrapDekError(`${(e as Error).message}; the datastore cannot start without its keys`);
  }
}

/**
 * The API server as a pod reaches it, authenticated by the projected service-account token of
 * `credentials` (files `token` and `ca.crt`). The token is read here, once, and only kept in the
 * KubeConfig.
 */
export function inClusterKubeConfig(credentials: string, env: NodeJS.ProcessEnv): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new UnwrapDekError(
      'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: run in a pod, or pass --kubeconfig',
    );
  }
  const tokenFile = join(credentials, 'token');
  const caFile = join(credentials, 'ca.crt');
  for (const f of [tokenFile, caFile]) {
    if (!existsSync(f)) {
      throw new UnwrapDekError(
        `${f} does not exist: mount a projected service-account token (token) and kube-root-ca.crt (ca.crt) at ${credentials}`,
      );
    }
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  if (!token) throw new UnwrapDekError(`${tokenFile} is empty`);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile, skipTLSVerify: false }],
    users: [{ name: 'hub-keys', token }],
    contexts: [{ name: 'hub-keys', cluster: 'in-cluster', user: 'hub-keys' }],
    currentContext: 'hub-keys',
  });
  return kc;
}

/** The token PIN in `<credentials>/pin`, used exactly as stored but for one trailing line break. */
export function readPinFile(credentials: string): string {
  return readCredentialFile(credentials, 'pin', {
    secret: 'the PIN Secret (spec.encryption.pkcs11.pinSecretRef)',
    holds: 'PIN',
    exact: true,
  });
}

/** The Transit token in `<credentials>/token`; one trailing line break dropped. */
export function readTransitToken(credentials: string): string {
  return readCredentialFile(credentials, 'token', {
    secret: 'the token Secret (spec.encryption.transit.authSecretRef)',
    holds: 'token',
    exact: false,
  });
}

/**
 * A credential mounted from a Secret, read as the operator reads the Secret itself (one trailing
 * line break dropped; `exact` values refused only when empty, others also when blank).
 */
function readCredentialFile(
  credentials: string,
  name: string,
  o: { secret: string; holds: string; exact: boolean },
): string {
  const file = join(credentials, name);
  let value: string;
  try {
    value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new UnwrapDekError(`${file} cannot be read: mount ${o.secret}`);
  }
  if ((o.exact ? value : value.trim()).length === 0) {
    throw new UnwrapDekError(`${file} is empty: the Secret's key holds no ${o.holds}`);
  }
  return value;
}

/** The files to write, active key last: `dek` only appears once every version is in place. */
export function keyFiles(
  set: DekSet,
  plaintext: ReadonlyMap<number, Buffer>,
): { name: string; data: Buffer }[] {
  const files = set.versions.map((v) => {
    const dek = plaintext.get(v.version);
    if (!dek || dek.length !== DEK_BYTES) {
      throw new UnwrapDekError(`key version ${v.version} did not unwrap to a ${DEK_BYTES * 8}-bit key`);
    }
    return { name: `dek-v${v.version}`, data: dek };
  });
  return [
    ...files,
    { name: ACTIVE_VERSION_FILE, data: Buffer.from(`${set.activeVersion}\n`, 'utf8') },
    { name: ACTIVE_DEK_FILE, data: plaintext.get(set.activeVersion)! },
  ];
}

/**
 * Writes each file whole under a temporary name, then renames it: a reader never sees half a key,
 * and a restarted init container (the emptyDir outlives it) replaces what an earlier run left.
 */
export function writeKeyFiles(out: string, files: readonly { name: string; data: Buffer }[]): void {
  for (const f of files) {
    const final = join(out, f.name);
    const tmp = join(out, `.${f.name}.tmp`);
    rmSync(tmp, { force: true });
    writeFileSync(tmp, f.data, { mode: 0o600, flag: 'wx' });
    // Explicitly: the umask may have narrowed the mode given at creation.
    chmodSync(tmp, KEY_FILE_MODE);
    renameSync(tmp, final);
  }
}

async function buildProvider(o: UnwrapDekOptions): Promise<KeyProvider> {
  switch (o.provider) {
    case 'builtin': {
      if (!o.kekNamespace)
        throw new UnwrapDekError("--kek-namespace is required with builtin (the operator's namespace)");
      if (!o.kubeconfig && !o.credentials)
        throw new UnwrapDekError('--credentials (or --kubeconfig) is required with builtin');
      const kc = o.kubeconfig ? fromFile(o.kubeconfig) : inClusterKubeConfig(o.credentials!, process.env);
      return new BuiltinKeyProvider({ core: kc.makeApiClient(CoreV1Api), namespace: o.kekNamespace });
    }
    case 'pkcs11': {
      if (!o.pkcs11Module || !o.pkcs11TokenLabel) {
        throw new UnwrapDekError('--pkcs11-module and --pkcs11-token-label are required with pkcs11');
      }
      if (!o.credentials)
        throw new UnwrapDekError('--credentials (holding the file pin) is required with pkcs11');
      let allowedModules: string[];
      try {
        allowedModules =
          o.pkcs11AllowedModules === undefined
            ? modulesAsNamed(o.pkcs11Module)
            : parseAllowedModules(o.pkcs11AllowedModules);
      } catch (e) {
        throw new UnwrapDekError((e as Error).message);
      }
      const pin = readPinFile(o.credentials);
      return new Pkcs11KeyProvider({
        module: o.pkcs11Module,
        allowedModules,
        tokenLabel: o.pkcs11TokenLabel,
        // The operator checked the token against its namespace before rendering this pod.
        allowedTokens: [o.pkcs11TokenLabel],
        pin,
      });
    }
    case 'transit': {
      if (!o.transitAddress) throw new UnwrapDekError('--transit-address is required with transit');
      if (!o.credentials)
        throw new UnwrapDekError(
          '--credentials (holding the file token, and ca.crt if any) is required with transit',
        );
      const token = readTransitToken(o.credentials);
      const caFile = join(o.credentials, 'ca.crt');
      const ca = existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined;
      try {
        return new TransitKeyProvider({
          address: o.transitAddress,
          mount: o.transitMount,
          token,
          ca,
          tokenSource: `${join(o.credentials, 'token')} (spec.encryption.transit.authSecretRef)`,
        });
      } catch (e) {
        throw new UnwrapDekError((e as Error).message);
      }
    }
  }
}

function fromFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new UnwrapDekError(`cannot load --kubeconfig ${path}: ${(e as Error).message}`);
  }
  return kc;
}

/** Unwraps every version of `set`; the caller zeroes the buffers. */
async function unwrapAll(
  provider: KeyProvider,
  identity: KeyIdentity,
  set: DekSet,
): Promise<Map<number, Buffer>> {
  const plaintext = new Map<number, Buffer>();
  try {
    for (const v of set.versions) plaintext.set(v.version, await provider.unwrap(identity, v.wrapped));
  } catch (e) {
    for (const b of plaintext.values()) b.fill(0);
    throw e;
  }
  return plaintext;
}

/** What to check when the provider refused: the access the pod itself needs. */
function accessHint(o: UnwrapDekOptions, hub: HubRef): string {
  if (o.provider === 'builtin') {
    return (
      `; the pod's service account ${kekServiceAccountName(hub.name)} needs get on the KEK Secret in namespace ` +
      `${o.kekNamespace} (the operator grants it while the hub's keys are ready)`
    );
  }
  return `; check the module, the token ${o.pkcs11TokenLabel ?? ''} and the PIN Secret`;
}

/** The command; returns the exit code. Only names, numbers and paths are ever printed. */
export async function unwrapDekCommand(o: UnwrapDekOptions): Promise<number> {
  const say = (line: string) => process.stderr.write(`hdh-operator unwrap-dek: ${line}\n`);
  let provider: KeyProvider | undefined;
  let plaintext: Map<number, Buffer> | undefined;
  try {
    const hub = parseHub(o.hub, o.hubUid);
    const set = dekSetFromFiles(readSecretDir(o.wrappedKeys), hub);
    if (set.provider !== o.provider) {
      throw new UnwrapDekError(
        `the hub's keys were wrapped by provider ${set.provider}, not ${o.provider}: the pod template is stale`,
      );
    }
    if (!existsSync(o.out))
      throw new UnwrapDekError(`--out ${o.out} does not exist: mount the keys volume there`);
    provider = await buildProvider(o);
    // Adopted keys stay wrapped by the KEK of the hub that first had them; the identity is always
    // that of the hub's own namespace and name.
    const kek = kekIdentityOf(set, hub);
    if (!kek) {
      throw new UnwrapDekError(
        `the wrapped keys name key-encryption key ${set.kekRef}, which is not a key of hub ` +
          `${hub.namespace}/${hub.name}: they are not unwrapped`,
      );
    }
    try {
      plaintext = await unwrapAll(provider, kek, set);
    } catch (e) {
      if (e instanceof UnwrapDekError) throw e;
      throw new UnwrapDekError(`${(e as Error).message}${accessHint(o, hub)}`);
    }
    writeKeyFiles(o.out, keyFiles(set, plaintext));
    process.stdout.write(
      `unwrapped ${set.versions.length} key version(s) of hub ${hub.namespace}/${hub.name} ` +
        `(active ${set.activeVersion}) into ${o.out}\n`,
    );
    return 0;
  } catch (e) {
    say(e instanceof UnwrapDekError ? e.message : `unexpected failure: ${(e as Error).message}`);
    return 1;
  } finally {
    for (const b of plaintext?.values() ?? []) b.fill(0);
    await provider?.close?.().catch(() => undefined);
    if (o.provider === 'pkcs11') finalizePkcs11Modules();
  }
}
