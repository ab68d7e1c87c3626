// Key custody: whether a hub's key-encryption key can leave its provider, judged from the
// attributes the provider itself reports (never from the spec, never from what the operator asked
// for when it made the key). Pure: providers read the attributes, this decides the verdict.
import type { HubEncryptionStatusCustody, HubEncryptionStatusCustodyAttributesItem } from '../api/index.js';
import type { Pkcs11KeyAttributes } from './pkcs11-objects.js';
import type { TransitKeyState } from './transit-api.js';

export type KeyCustody = HubEncryptionStatusCustody;
export type CustodyAttribute = HubEncryptionStatusCustodyAttributesItem;
export type CustodyVerdict = KeyCustody['verdict'];

/**
 * NonExtractable when every attribute read has the value a key that never leaves its provider
 * has; Extractable otherwise, and when there is nothing to judge (no attribute was read).
 */
export function custodyVerdict(attributes: readonly CustodyAttribute[]): 'NonExtractable' | 'Extractable' {
  return attributes.length > 0 && attributes.every((a) => a.observed === a.expected)
    ? 'NonExtractable'
    : 'Extractable';
}

/**
 * The custody table: per provider, each attribute read and the value it has on a key that never
 * leaves its provider, in the order they are reported. The verdicts below, the compliance report
 * and the tests all judge by it.
 */
export const EXPECTED_CUSTODY = {
  pkcs11: {
    CKA_SENSITIVE: 'true',
    CKA_EXTRACTABLE: 'false',
    // A key that was ever extractable or readable may have been copied before it was locked.
    CKA_ALWAYS_SENSITIVE: 'true',
    CKA_NEVER_EXTRACTABLE: 'true',
  },
  // Transit cannot set either back once true.
  transit: { exportable: 'false', allow_plaintext_backup: 'false' },
} as const satisfies Record<string, Readonly<Record<string, 'true' | 'false'>>>;

type Expected<P extends keyof typeof EXPECTED_CUSTODY> = (typeof EXPECTED_CUSTODY)[P];

/** The table's row of `provider`; undefined for builtin (nothing to read) and anything else. */
export function expectedCustody(provider: string): Readonly<Record<string, string>> | undefined {
  return Object.hasOwn(EXPECTED_CUSTODY, provider)
    ? EXPECTED_CUSTODY[provider as keyof typeof EXPECTED_CUSTODY]
    : undefined;
}

/** Each attribute of the table's row, with the value the provider reported for it. */
function tableAttributes<P extends keyof typeof EXPECTED_CUSTODY>(
  provider: P,
  observed: Record<keyof Expected<P>, boolean>,
): CustodyAttribute[] {
  const row: Readonly<Record<string, string>> = EXPECTED_CUSTODY[provider];
  const read = observed as Record<string, boolean>;
  return Object.keys(row).map((name) => ({ name, expected: row[name]!, observed: String(read[name]) }));
}

function judged(attributes: CustodyAttribute[], where: string, fix: string): KeyCustody {
  const verdict = custodyVerdict(attributes);
  const wrong = attributes.filter((a) => a.observed !== a.expected);
  return {
    verdict,
    attributes,
    message:
      verdict === 'NonExtractable'
        ? `${where} reports the key-encryption key as non-extractable: it cannot leave the provider`
        : `${where} reports ${wrong.map((a) => `${a.name}=${a.observed}`).join(', ')}: the key-encryption key ` +
          `could be copied out of the provider; ${fix}`,
  };
}

/** PKCS#11: the token's CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE. */
export function pkcs11Custody(a: Pkcs11KeyAttributes, tokenLabel: string): KeyCustody {
  return judged(
    tableAttributes('pkcs11', {
      CKA_SENSITIVE: a.sensitive,
      CKA_EXTRACTABLE: a.extractable,
      CKA_ALWAYS_SENSITIVE: a.alwaysSensitive,
      CKA_NEVER_EXTRACTABLE: a.neverExtractable,
    }),
    `PKCS#11 token ${tokenLabel}`,
    'a key that was ever extractable may have been copied: move the data to a new hub whose key the token generates, and destroy this one once the data is moved',
  );
}

/** Transit: the engine's `exportable` and `allow_plaintext_backup` of the key (both irreversible). */
export function transitCustody(state: TransitKeyState, where: string): KeyCustody {
  return judged(
    tableAttributes('transit', {
      exportable: state.exportable,
      allow_plaintext_backup: state.allowPlaintextBackup,
    }),
    where,
    'Transit cannot take either setting back: move the data to a new hub, whose key the operator makes non-exportable, and destroy this one once the data is moved',
  );
}

/** builtin: the key is a Secret of the operator's namespace; there are no attributes to read. */
export function builtinCustody(namespace: string): KeyCustody {
  return {
    verdict: 'SecretInCluster',
    attributes: [],
    message:
      `the key-encryption key is a Kubernetes Secret in namespace ${namespace}, readable by whoever may read ` +
      'Secrets there or reads etcd or its backups: the weakest custody; a PKCS#11 token or a Transit engine keeps keys out of the cluster',
  };
}

/** The verdict changed to Extractable (from anything else, or from nothing recorded). */
export function becameExtractable(before: KeyCustody | undefined, after: KeyCustody | undefined): boolean {
  return after?.verdict === 'Extractable' && before?.verdict !== 'Extractable';
}
