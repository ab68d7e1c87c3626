// How a hub's datastore receives its DEKs: what the datastore's pod template needs, as a pure
// description the datastore renderer adds to its StatefulSet. The operator itself never writes a
// plaintext DEK anywhere.
//
// An init container of the operator's image unwraps the DEK versions into a memory-backed emptyDir
// (tmpfs: never on a node's disk), which the datastore container mounts read-only. So:
//  - the plaintext DEK is never in etcd (not in a Secret, not in the pod spec), nor in an
//    environment variable (visible in /proc and often in crash dumps) — only in a tmpfs file;
//  - the credentials that unwrap (PIN, Transit token, service-account token) are mounted in the
//    init container only; the datastore container, which runs the user's image, never sees them;
//  - the datastore's own container has no key-provider code and no network need for keys.
// The cost: a restart of the pod needs the provider (fail closed: no key, no start), and anyone who
// can exec into the datastore container can read the DEK file, as with any at-rest encryption key
// the process must hold.
import type { V1Container, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { HealthDataHub } from '../api/index.js';
import { dekSecretName } from './dek.js';
import { hubRefOf, keyIdentity, type KeyIdentity } from './identity.js';

/** Where the datastore container finds its keys (apart from the datastore's own /run, /tmp). */
export const DEK_MOUNT_PATH = '/etc/hdh/keys';
/** Pod annotation with the active key version: a rotation rolls the datastore's pods. */
export const ANNOTATION_KEY_VERSION = 'hdh.sovereign.eu/key-version';
/** File holding the active DEK (32 raw bytes); `dek-v<N>` hold every version; `active-version`. */
export const ACTIVE_DEK_FILE = 'dek';

/** builtin: the service account of the datastore's pods, allowed to get the hub's KEK Secret. */
export function kekServiceAccountName(hubName: string): string {
  return `${hubName}-keys`;
}

const VOLUME_DEK = 'hdh-dek';
const VOLUME_WRAPPED = 'hdh-wrapped-keys';
const VOLUME_CREDENTIALS = 'hdh-key-credentials';
const WRAPPED_PATH = '/etc/hdh/wrapped-keys';
const CREDENTIALS_PATH = '/etc/hdh/credentials';

export interface DekDeliveryOptions {
  /** The operator's image, which carries the `unwrap-dek` command and PKCS#11 modules. */
  image: string;
  /** The operator's namespace (builtin KEKs live there). */
  operatorNamespace: string;
  /** The active key version (status.encryption.activeVersion), to roll pods on rotation. */
  activeVersion?: number | undefined;
  /**
   * The identity of the KEK that wraps the hub's keys, as the key lifecycle verified it (see
   * KeyLifecycleResult.kek): an earlier hub's for adopted keys, a legacy one for keys made before
   * the current scheme. Default: the hub's own, current scheme.
   */
  kek?: KeyIdentity | undefined;
}

export interface DekDelivery {
  /** Added to the pod's volumes. */
  volumes: V1Volume[];
  /** Runs before the datastore; fails (and so holds the pod) when the key cannot be unwrapped. */
  initContainers: V1Container[];
  /** Added to the datastore container: the keys, read-only. */
  datastoreMounts: V1VolumeMount[];
  /** builtin: the service account the pod runs as (see kekAccess). */
  serviceAccountName?: string;
  /** The active version, so that a rotation changes the pod template and restarts the pods. */
  podAnnotations?: Record<string, string>;
  /**
   * The pod must not auto-mount a service-account token (the datastore container would get it);
   * builtin projects one into the init container only.
   */
  automountServiceAccountToken: false;
  /**
   * builtin only: the service account the pod runs as, allowed (by a Role in the operator's
   * namespace, resourceNames = [kekSecret]) to get exactly the hub's KEK Secret.
   */
  kekAccess?: {
    serviceAccountName: string;
    namespace: string;
    /** The KEK Secret (named by the KEK's identity, an earlier hub's for adopted keys). */
    kekSecret: string;
    /** Name of the Role and RoleBinding: the hub's own key identity, so each hub has its own. */
    roleName: string;
  };
}

/**
 * The volumes, init container and mounts that deliver `hub`'s DEKs to its datastore, in the shape
 * of src/storage/datastore.ts's KeyDelivery. The pod also needs an fsGroup shared by both
 * containers (the datastore renderer sets one): the init container writes the files with mode
 * 0440 into the emptyDir, whose group is the fsGroup.
 */
export function dekDelivery(hub: HealthDataHub, o: DekDeliveryOptions): DekDelivery {
  const ref = hubRefOf(hub);
  const own = keyIdentity(ref);
  const kek = o.kek ?? own;
  const enc = hub.spec.encryption ?? {};
  const provider = enc.provider ?? 'builtin';

  const volumes: V1Volume[] = [
    // tmpfs, small: DEKs are 32 bytes each.
    { name: VOLUME_DEK, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    { name: VOLUME_WRAPPED, secret: { secretName: dekSecretName(ref.name), defaultMode: 0o400 } },
  ];
  const args = [
    'unwrap-dek',
    `--hub=${ref.namespace}/${ref.name}`,
    `--hub-uid=${ref.uid}`,
    `--provider=${provider}`,
    `--wrapped-keys=${WRAPPED_PATH}`,
    `--out=${DEK_MOUNT_PATH}`,
  ];
  const initMounts: V1VolumeMount[] = [
    { name: VOLUME_DEK, mountPath: DEK_MOUNT_PATH },
    { name: VOLUME_WRAPPED, mountPath: WRAPPED_PATH, readOnly: true },
  ];
  let kekAccess: DekDelivery['kekAccess'];

  if (provider === 'builtin') {
    // The KEK Secret is in another namespace: read through the API with a token that only the
    // init container gets, bound to a service account allowed to get that one Secret.
    volumes.push({
      name: VOLUME_CREDENTIALS,
      projected: {
        defaultMode: 0o400,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    });
    args.push(`--kek-namespace=${o.operatorNamespace}`, `--credentials=${CREDENTIALS_PATH}`);
    kekAccess = {
      serviceAccountName: kekServiceAccountName(ref.name),
      namespace: o.operatorNamespace,
      kekSecret: kek.name,
      roleName: own.name,
    };
  } else if (provider === 'pkcs11' && enc.pkcs11) {
    const p = enc.pkcs11;
    volumes.push({
      name: VOLUME_CREDENTIALS,
      secret: {
        secretName: p.pinSecretRef.name,
        items: [{ key: p.pinSecretRef.key, path: 'pin' }],
        defaultMode: 0o400,
      },
    });
    args.push(
      `--pkcs11-module=${p.module}`,
      `--pkcs11-token-label=${p.tokenLabel}`,
      `--credentials=${CREDENTIALS_PATH}`,
    );
  } else if (provider === 'transit' && enc.transit) {
    const t = enc.transit;
    const items = [{ key: t.authSecretRef.key, path: 'token' }];
    volumes.push({
      name: VOLUME_CREDENTIALS,
      projected: {
        defaultMode: 0o400,
        sources: [
          { secret: { name: t.authSecretRef.name, items } },
          ...(t.caSecretRef
            ? [{ secret: { name: t.caSecretRef.name, items: [{ key: t.caSecretRef.key, path: 'ca.crt' }] } }]
            : []),
        ],
      },
    });
    args.push(
      `--transit-address=${t.address}`,
      `--transit-mount=${t.mount ?? 'transit'}`,
      `--credentials=${CREDENTIALS_PATH}`,
    );
  }
  if (volumes.some((v) => v.name === VOLUME_CREDENTIALS)) {
    initMounts.push({ name: VOLUME_CREDENTIALS, mountPath: CREDENTIALS_PATH, readOnly: true });
  }

  return {
    volumes,
    initContainers: [
      {
        name: 'unwrap-dek',
        image: o.image,
        command: ['hdh-operator'],
        args,
        // Arguments name keys and files; no key, PIN or token is ever an argument or a variable.
        volumeMounts: initMounts,
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
      },
    ],
    datastoreMounts: [{ name: VOLUME_DEK, mountPath: DEK_MOUNT_PATH, readOnly: true }],
    automountServiceAccountToken: false,
    ...(kekAccess ? { kekAccess, serviceAccountName: kekAccess.serviceAccountName } : {}),
    ...(o.activeVersion !== undefined
      ? { podAnnotations: { [ANNOTATION_KEY_VERSION]: String(o.activeVersion) } }
      : {}),
  };
}
