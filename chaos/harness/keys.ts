// A witness of every hub's keys over a whole experiment: each look reads the hubs' wrapped-key
// Secrets and the key-encryption keys as stored, and compares them with everything seen before.
// Keys may only be added: a version seen once keeps its wrapped value and creation time forever,
// versions stay contiguous from 1, and a hub has at most one key-encryption key, never replaced.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { LABEL_RETAINED_FROM } from '../../src/api/index.js';
import { KEK_SECRET_TYPE } from '../../src/keys/builtin.js';
import { DEK_SECRET_TYPE } from '../../src/keys/dek.js';
import { LABEL_HUB_UID } from '../../src/keys/identity.js';
import { OPERATOR_NAMESPACE } from './fleet.js';

const decode = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString());

/** One hub's wrapped-key Secret, as read. */
export interface StoredKeys {
  secret: string;
  hubUid: string;
  /** Version → wrapped value and creation time, as stored (base64). */
  versions: Map<number, string>;
  activeVersion: number;
  /** The last rotate-key annotation value honoured. */
  honoured?: string;
  retainedFrom?: string;
}

/** One key-encryption key Secret, as read. */
export interface StoredKek {
  name: string;
  uid: string;
  data: string;
  retainedFrom?: string;
}

export function readStoredKeys(secret: V1Secret): StoredKeys {
  const data = secret.data ?? {};
  const versions = new Map<number, string>();
  for (const [k, v] of Object.entries(data)) {
    const m = /^dek-v(\d+)$/.exec(k);
    if (m) versions.set(Number(m[1]), `${v}|${data[`${k}-created`] ?? ''}`);
  }
  const honoured = decode(data['rotate-key-honoured']);
  const retainedFrom = secret.metadata?.labels?.[LABEL_RETAINED_FROM];
  return {
    secret: `${secret.metadata?.namespace}/${secret.metadata?.name}`,
    hubUid: decode(data['hub-uid']) ?? '?',
    versions,
    activeVersion: Number(decode(data['active-version']) ?? 0),
    ...(honoured !== undefined ? { honoured } : {}),
    ...(retainedFrom !== undefined ? { retainedFrom } : {}),
  };
}

export interface KeyLook {
  /** By hub UID. */
  keys: Map<string, StoredKeys>;
  /** By hub UID: every key-encryption key labelled for it. */
  keks: Map<string, StoredKek[]>;
}

/** Reads the wrapped keys of every hub in `namespaces` and every builtin key-encryption key. */
export async function lookAtKeys(kc: KubeConfig, namespaces: readonly string[]): Promise<KeyLook> {
  const core = kc.makeApiClient(CoreV1Api);
  const keys = new Map<string, StoredKeys>();
  for (const namespace of namespaces) {
    const list = await core.listNamespacedSecret({ namespace, fieldSelector: `type=${DEK_SECRET_TYPE}` });
    for (const s of list.items) {
      const k = readStoredKeys(s);
      keys.set(k.hubUid, k);
    }
  }
  const keks = new Map<string, StoredKek[]>();
  const list = await core.listNamespacedSecret({
    namespace: OPERATOR_NAMESPACE,
    fieldSelector: `type=${KEK_SECRET_TYPE}`,
  });
  for (const s of list.items) {
    const hub = s.metadata?.labels?.[LABEL_HUB_UID] ?? '?';
    const retainedFrom = s.metadata?.labels?.[LABEL_RETAINED_FROM];
    keks.set(hub, [
      ...(keks.get(hub) ?? []),
      {
        name: s.metadata!.name!,
        uid: s.metadata!.uid!,
        data: JSON.stringify(s.data ?? {}),
        ...(retainedFrom !== undefined ? { retainedFrom } : {}),
      },
    ]);
  }
  return { keys, keks };
}

/** Everything seen so far, and what broke the rule since the first look. */
export class KeyLedger {
  /** Hub UID → version → first value seen. */
  private readonly versions = new Map<string, Map<number, string>>();
  private readonly keks = new Map<string, StoredKek>();
  private readonly secrets = new Map<string, string>();
  readonly violations: string[] = [];
  looks = 0;
  maxKeksPerHub = 0;

  /** Compares one look with all before it; returns the violations it found. */
  record(look: KeyLook): string[] {
    this.looks++;
    const found: string[] = [];
    for (const [uid, seen] of this.versions) {
      const now = look.keys.get(uid);
      if (!now) {
        found.push(`the wrapped keys of hub ${uid} (${this.secrets.get(uid)}) are gone`);
        continue;
      }
      for (const [v, value] of seen) {
        if (!now.versions.has(v)) found.push(`${now.secret}: version ${v} lost`);
        else if (now.versions.get(v) !== value) found.push(`${now.secret}: version ${v} changed`);
      }
    }
    for (const [uid, now] of look.keys) {
      const numbers = [...now.versions.keys()].sort((a, b) => a - b);
      if (numbers.some((n, i) => n !== i + 1)) found.push(`${now.secret}: versions ${numbers} have a gap`);
      const seen = this.versions.get(uid) ?? new Map<number, string>();
      for (const [v, value] of now.versions) if (!seen.has(v)) seen.set(v, value);
      this.versions.set(uid, seen);
      this.secrets.set(uid, now.secret);
    }
    for (const [uid, list] of look.keks) {
      this.maxKeksPerHub = Math.max(this.maxKeksPerHub, list.length);
      if (list.length > 1)
        found.push(`hub ${uid} has ${list.length} key-encryption keys: ${list.map((k) => k.name)}`);
      const first = this.keks.get(uid);
      const now = list[0]!;
      if (!first) this.keks.set(uid, now);
      else if (first.uid !== now.uid || first.data !== now.data)
        found.push(`the key-encryption key of hub ${uid} was replaced (${first.name} → ${now.name})`);
    }
    for (const [uid, first] of this.keks) {
      if (!look.keks.has(uid)) found.push(`the key-encryption key ${first.name} of hub ${uid} is gone`);
    }
    this.violations.push(...found);
    return found;
  }

  /** Versions seen for the hub with this UID (0: none yet). */
  versionCount(uid: string): number {
    return this.versions.get(uid)?.size ?? 0;
  }
}
