// A hub's keys and their custody, as the keys controller recorded them in status.encryption:
// provider, key reference, versions, rotation dates and the custody attributes read from the
// provider itself. The verdict is checked again here against the attributes the custody needs,
// so a record that contradicts itself is not taken at its word.
import { formatTime, type HealthDataHub } from '../../api/index.js';
import { parseDuration } from '../../api/duration.js';
import { expectedCustody } from '../../keys/custody.js';
import type { CustodyAttribute, ReportCustody, ReportKeys } from './model.js';
import { byKeys } from './order.js';

export const BUILTIN_WHY =
  "the key-encryption key is a Kubernetes Secret in the operator's namespace, readable by whoever " +
  'reads Secrets there or etcd and its backups: the weakest custody the operator offers';

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

function recordedAttributes(raw: unknown): CustodyAttribute[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
    .map((a) => ({ name: text(a['name']), expected: text(a['expected']), observed: text(a['observed']) }))
    .sort(byKeys((a) => a.name));
}

/**
 * NonExtractable only when every attribute the provider's custody needs was read with the value
 * it needs, and the record says so too; Extractable when one was read with another value (or the
 * record says so); NotVerified when nothing, or not every needed attribute, was read.
 */
function custodyOf(provider: string, hub: HealthDataHub): ReportCustody {
  const recorded = hub.status?.encryption?.custody as unknown as Record<string, unknown> | undefined;
  const message = text(recorded?.['message']);
  if (provider === 'builtin') {
    return {
      verdict: 'SecretInCluster',
      attributes: [],
      message: message || BUILTIN_WHY,
      weakest: true,
      weakestWhy: BUILTIN_WHY,
    };
  }
  if (!recorded || typeof recorded !== 'object') {
    return {
      verdict: 'NotVerified',
      attributes: [],
      message:
        'not yet verified: the operator has not recorded the custody attributes read from the provider',
      weakest: false,
    };
  }
  const attributes = recordedAttributes(recorded['attributes']);
  // What a key that cannot leave its provider shows (the custody table the verdict is made by).
  const required = expectedCustody(provider) ?? {};
  const wrong = attributes.filter(
    (a) => a.observed !== a.expected || (required[a.name] !== undefined && a.observed !== required[a.name]),
  );
  const missing = Object.keys(required).filter((name) => !attributes.some((a) => a.name === name));
  const claimed = text(recorded['verdict']);
  const notes: string[] = [];
  let verdict: ReportCustody['verdict'];
  if (wrong.length || claimed === 'Extractable') {
    verdict = 'Extractable';
    if (wrong.length) {
      notes.push(
        `the key can leave the provider: ${wrong
          .map((a) => `${a.name} is ${a.observed}, ${required[a.name] ?? a.expected} needed`)
          .join('; ')}`,
      );
    }
  } else if (missing.length || attributes.length === 0) {
    verdict = 'NotVerified';
    notes.push(`not verified: ${missing.join(', ') || 'no attribute'} was not read from the provider`);
  } else {
    verdict = 'NonExtractable';
  }
  if (claimed && claimed !== verdict) notes.push(`the operator recorded ${claimed}`);
  return {
    verdict,
    attributes,
    message: [message, ...notes].filter(Boolean).join('; '),
    weakest: false,
  };
}

/** `last + interval` in RFC 3339 (seconds), when both are known and valid. */
export function nextRotation(last: string | undefined, interval: string | undefined): string | undefined {
  if (!last || !interval) return undefined;
  const start = Date.parse(last);
  if (Number.isNaN(start)) return undefined;
  let ms: number;
  try {
    ms = parseDuration(interval);
  } catch {
    return undefined;
  }
  return formatTime(new Date(start + Math.round(ms)));
}

export function reportKeys(hub: HealthDataHub): ReportKeys {
  const status = hub.status?.encryption ?? {};
  const provider = status.provider ?? hub.spec.encryption?.provider ?? 'builtin';
  const rotationInterval = hub.spec.encryption?.rotationInterval;
  const next = nextRotation(status.lastRotationTime, rotationInterval);
  return {
    provider,
    ...(status.keyRef !== undefined ? { keyRef: status.keyRef } : {}),
    ...(status.activeVersion !== undefined ? { activeVersion: status.activeVersion } : {}),
    ...(status.versions !== undefined ? { versions: status.versions } : {}),
    ...(status.lastRotationTime !== undefined ? { lastRotationTime: status.lastRotationTime } : {}),
    ...(rotationInterval !== undefined ? { rotationInterval } : {}),
    ...(next !== undefined ? { nextRotationTime: next } : {}),
    custody: custodyOf(provider, hub),
  };
}
