// Generated hubs and policies, hostile values included: a seeded generator (one seed, one
// sequence) of specs that are mostly valid and wrong in every way the schema can be, and how to read
// what the API server and the operator make of them: a refusal must name the field, an admitted
// object must get a status.
import {
  ConditionType,
  getCondition,
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../src/api/index.js';
import { random } from '../unit/placement/pods.js';

/** The share of generated fields given a hostile value. */
const HOSTILE = 0.1;
const REGIONS = ['fr-par', 'eu-west-3', 'de-fra'];

/** A generator seeded with `seed`. */
export function generator(seed: number): Gen {
  return new Gen(random(seed));
}

export class Gen {
  constructor(readonly random: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }
  some<T>(xs: readonly T[], max = xs.length): T[] {
    return Array.from({ length: this.int(0, max) }, () => this.pick(xs));
  }
  word(len: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    return Array.from({ length: len }, () => this.pick([...alphabet])).join('');
  }
  /** A DNS label of `len` characters (len ≥ 1). */
  label(len: number): string {
    return len === 1 ? this.word(1, 'abcdefghij') : `${this.word(1, 'abcdefghij')}${this.word(len - 1)}`;
  }

  /** A valid value mostly, a hostile one at the rate HOSTILE: most objects get a few of them. */
  either<T>(valid: readonly (() => T)[], hostile: readonly (() => T)[]): T {
    return this.pick(this.chance(HOSTILE) ? hostile : valid)();
  }

  /** Label, toleration and requirement keys: valid ones and every way to get one wrong. */
  key(): string {
    return this.either(
      [
        () => 'dedicated',
        () => 'sovereign.node-restriction.kubernetes.io/pool',
        () => `example.com/${this.label(63)}`,
        () => this.label(63),
        () => `${Array.from({ length: 4 }, () => this.label(62)).join('.')}/x`, // 251-char prefix
        () => `${this.label(10)}.${this.label(5)}/${this.label(12)}`,
      ],
      [
        () => `example.com/${this.label(64)}`,
        () => this.label(64),
        () => `${Array.from({ length: 4 }, () => this.label(63)).join('.')}/x`, // 255-char prefix
        () => 'a/b/c',
        () => 'Example.com/x',
        () => '-lead',
        () => 'trail-',
        () => 'with space',
        () => 'ключ',
        () => '/x',
        () => 'x/',
      ],
    );
  }

  labelValue(): string {
    return this.either(
      [() => 'true', () => 'EU', () => '', () => this.label(63), () => 'x_y.z'],
      [() => this.label(64), () => 'a b', () => '-x', () => 'é'],
    );
  }

  toleration(): Record<string, unknown> {
    const t: Record<string, unknown> = {};
    const exists = this.chance(0.3);
    if (!exists || this.chance(0.8)) t.key = this.key();
    t.operator = this.either([() => (exists ? 'Exists' : 'Equal')], [() => 'Bogus']);
    if (!exists && this.chance(0.7)) t.value = this.labelValue();
    if (this.chance(0.6)) {
      t.effect = this.either(
        [() => this.pick(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])],
        [() => 'Never'],
      );
    }
    if (this.chance(0.2)) {
      t.effect = this.either([() => 'NoExecute'], [() => 'NoSchedule']);
      t.tolerationSeconds = this.either([() => 0, () => 300, () => 2 ** 53 - 1], [() => -1]);
    }
    return t;
  }

  resourceName(): string {
    return this.either(
      [
        () => 'cpu',
        () => 'memory',
        () => 'ephemeral-storage',
        () => 'hugepages-2Mi',
        () => 'example.com/gpu',
        () => `example.com/${this.label(63)}`,
      ],
      [
        () => 'hugepages-bogus',
        () => 'a/b/c',
        () => 'gpu',
        () => 'requests.cpu',
        () => 'kubernetes.io/x',
        () => 'Example.com/gpu',
        () => `example.com/${this.label(64)}`,
        () => 'pods',
      ],
    );
  }

  quantity(): string | number {
    return this.either<string | number>(
      [
        () => '100m',
        () => '500m',
        () => '1',
        () => '2',
        () => '64Mi',
        () => '2Mi',
        () => '1Gi',
        () => '4Gi',
        () => '0.5',
        () => '1e3',
        () => 0,
        () => 3,
      ],
      [() => '1e9999', () => '-1', () => '9999999Ei', () => -5, () => '', () => 'lots'],
    );
  }

  resources(): Record<string, unknown> {
    const map = () =>
      Object.fromEntries(
        Array.from({ length: this.int(1, 3) }, () => [this.resourceName(), this.quantity()]),
      );
    const r: Record<string, unknown> = {};
    if (this.chance(0.7)) r.requests = map();
    if (this.chance(0.6)) r.limits = map();
    // The everyday case, where a request above the limit comes from.
    if (this.chance(0.4)) r.requests = { memory: this.pick(['1Gi', '2Gi']), cpu: this.pick(['1', '2']) };
    if (this.chance(0.4))
      r.limits = { memory: this.pick(['512Mi', '1Gi', '4Gi']), cpu: this.pick(['500m', '4']) };
    return r;
  }

  envVar(): Record<string, unknown> {
    const name = this.either(
      [() => 'PGDATA_OPTS', () => 'POSTGRES_DB', () => `_${this.word(8)}`, () => `a.b-${this.word(3)}`],
      [
        () => 'a=b',
        () => '1ABC',
        () => '',
        () => 'x'.repeat(257),
        () => '.',
        () => '..',
        () => 'with space',
        () => 'ÉTÉ',
      ],
    );
    const e: Record<string, unknown> = { name };
    const which = this.int(0, 2);
    if (which === 1) e.value = this.pick(['x', '', 'é'.repeat(10)]);
    if (which === 2) {
      e.valueFrom = this.either<Record<string, unknown>>(
        [() => ({ secretKeyRef: { name: 'db', key: this.pick(['pw', '.pw', 'a_b']) } })],
        [
          () => ({ secretKeyRef: { name: 'Bad_Name', key: 'pw' } }),
          () => ({ secretKeyRef: { name: 'db', key: this.pick(['a/b', '..', '.']) } }),
          () => ({ configMapKeyRef: { name: 'cfg', key: 'k' }, secretKeyRef: { name: 'db', key: 'pw' } }),
        ],
      );
    }
    return e;
  }

  requirement(): Record<string, unknown> {
    const operator = this.either(
      [() => this.pick(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'])],
      [() => 'Bogus'],
    );
    const r: Record<string, unknown> = { key: this.key(), operator };
    const count =
      operator === 'Gt' || operator === 'Lt'
        ? 1
        : operator.endsWith('Exist') || operator === 'Exists'
          ? 0
          : this.int(1, 3);
    const values = Array.from({ length: this.either([() => count], [() => this.int(0, 3)]) }, () =>
      operator === 'Gt' || operator === 'Lt'
        ? this.either(
            [() => '1', () => '-3', () => '9223372036854775807'],
            [() => '9223372036854775808', () => '1.5'],
          )
        : this.labelValue(),
    );
    if (values.length || this.chance(0.2)) r.values = values;
    return r;
  }
}

export function fuzzPolicy(g: Gen, name: string): SovereigntyPolicy {
  const region = () =>
    g.either([() => g.pick([...REGIONS, 'es-mad'])], [() => 'x'.repeat(64), () => 'bad region', () => '']);
  const spec: Record<string, unknown> = {
    regions: [...new Set(Array.from({ length: g.either([() => g.int(1, 3)], [() => 0]) }, region))],
  };
  if (g.chance(0.6))
    spec.nodeSelectorRequirements = Array.from({ length: g.int(1, 3) }, () => g.requirement());
  if (g.chance(0.5)) spec.tolerations = Array.from({ length: g.int(1, 3) }, () => g.toleration());
  if (g.chance(0.3)) {
    spec.keyProviders = [
      ...new Set(g.either([() => ['builtin', g.pick(['pkcs11', 'transit'])]], [() => ['aws-kms']])),
    ];
  }
  // Audit mostly: the generated policies should not hold back pods of other tests.
  spec.enforcement = g.either([() => (g.chance(0.9) ? 'Audit' : 'Enforce')], [() => 'Strict']);
  if (g.chance(0.2)) spec.onViolation = g.either([() => g.pick(['Evict', 'Report'])], [() => 'Kill']);
  if (g.chance(0.3)) {
    spec.namespaceSelector = g.chance(0.5)
      ? { matchLabels: { [g.key()]: g.labelValue() } }
      : {
          matchExpressions: [{ key: g.key(), operator: g.either([() => 'Exists'], [() => 'Near']) }],
        };
  }
  if (g.chance(0.2)) {
    spec.remediation = {
      evictionTimeout: g.either(
        [() => g.pick(['2m', '0s', '90s'])],
        [() => g.pick(['2h', 'soon', '99999h'])],
      ),
      maxGracePeriodSeconds: g.either([() => g.pick([1, 30])], [() => g.pick([0, 3601])]),
    };
  }
  return {
    apiVersion: SOVEREIGNTY_POLICY.apiVersion,
    kind: SOVEREIGNTY_POLICY.kind,
    metadata: { name },
    spec,
  } as unknown as SovereigntyPolicy;
}

export function fuzzHub(
  g: Gen,
  name: string,
  namespace: string,
  policies: readonly string[],
  storageClass: string,
): HealthDataHub {
  const datastore: Record<string, unknown> = {};
  if (g.chance(0.2)) {
    datastore.image = g.either(
      [() => 'docker.io/library/postgres:17'],
      [() => 'with space:1', () => '', () => 'x'.repeat(600)],
    );
  }
  if (g.chance(0.4)) datastore.replicas = g.either([() => g.pick([1, 2, 3])], [() => g.pick([0, 17])]);
  if (g.chance(0.2)) datastore.port = g.either([() => g.pick([5432, 80])], [() => g.pick([0, 65536])]);
  if (g.chance(0.4)) {
    const env = Array.from({ length: g.int(1, 3) }, () => g.envVar());
    datastore.env = [...new Map(env.map((e) => [e.name, e])).values()];
  }
  if (g.chance(0.6)) datastore.resources = g.resources();
  const placement: Record<string, unknown> = {};
  if (g.chance(0.3)) {
    placement.regions = [
      ...new Set(
        Array.from({ length: g.int(1, 2) }, () =>
          g.either([() => g.pick([...REGIONS, 'us-east-1'])], [() => 'Bad Region']),
        ),
      ),
    ];
  }
  if (g.chance(0.5)) placement.tolerations = Array.from({ length: g.int(1, 3) }, () => g.toleration());
  if (g.chance(0.2)) placement.spreadAcrossZones = g.chance(0.5);
  const spec: Record<string, unknown> = {
    policyName: g.either(
      [() => (g.chance(0.5) ? 'eu-hds' : g.pick(policies))],
      [() => 'absent-policy', () => 'Bad_Policy'],
    ),
    storage: {
      size: g.either(
        [() => g.pick(['1Gi', '1Mi', '64Ti', '1e3Mi', '1.5Gi'])],
        [() => g.pick(['65Ti', '0', '100m', '1e9999', 'big'])],
      ),
      storageClassName: g.either([() => storageClass], [() => 'missing-class', () => 'Bad_Class']),
      ...(g.chance(0.2)
        ? { retention: g.either([() => g.pick(['Retain', 'Delete'])], [() => 'Shred']) }
        : {}),
    },
  };
  if (Object.keys(datastore).length) spec.datastore = datastore;
  if (Object.keys(placement).length) spec.placement = placement;
  if (g.chance(0.1))
    spec.encryption = {
      provider: g.either([() => g.pick(['builtin', 'pkcs11', 'transit'])], [() => 'rot13']),
    };
  if (g.chance(0.1))
    spec.encryption = {
      rotationInterval: g.either([() => '2160h'], [() => g.pick(['30m', '99999999h', 'weekly'])]),
    };
  if (g.chance(0.1)) spec.suspend = true;
  const labels = g.chance(0.2) ? { [g.key()]: g.labelValue() } : undefined;
  return {
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
  } as unknown as HealthDataHub;
}

export interface Refusal {
  code?: number;
  message: string;
  /** Per cause of the refusal: the field it names, and its message. */
  causes: { field: string; message: string }[];
}

/** The API server's refusal of a create: its message and causes. */
export function refusalOf(e: unknown): Refusal {
  const err = e as { code?: number; body?: unknown };
  const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? {});
  let status: { message?: string; details?: { causes?: { field?: string; message?: string }[] } } = {};
  try {
    status = JSON.parse(body) as typeof status;
  } catch {
    // not a Status: reported as is below
  }
  return {
    ...(err.code !== undefined ? { code: err.code } : {}),
    message: status.message ?? String(e),
    causes: (status.details?.causes ?? [])
      // Not a refusal of its own: the server's note that rules behind a refused field were skipped.
      .filter((c) => !c.message?.includes('some validation rules were not checked'))
      .map((c) => ({ field: c.field ?? '', message: c.message ?? '' })),
  };
}

/**
 * A refusal names the field when each cause does: by its field path, or — for a rule on the
 * whole object, such as the one on metadata.name — in its message.
 */
export function namesField(r: Refusal): boolean {
  const path = /^(spec|metadata)(\.|\[|$)/;
  return (
    r.causes.length > 0 &&
    r.causes.every((c) => path.test(c.field) || /\b(spec|metadata)\.[A-Za-z]/.test(c.message))
  );
}

/**
 * What is wrong with an admitted hub's status, or undefined when it has one: Ready for its current
 * generation, with a reason; Unknown only for a suspended hub, which says so; and one kstatus reads
 * without doubt (never Stalled and Reconciling at once).
 */
export function hubStatusProblem(h: HealthDataHub): string | undefined {
  const ready = getCondition(h.status?.conditions, ConditionType.Ready);
  const stalled = getCondition(h.status?.conditions, ConditionType.Stalled);
  const reconciling = getCondition(h.status?.conditions, ConditionType.Reconciling);
  if (!ready?.reason) return 'no Ready condition with a reason';
  if (
    ready.observedGeneration !== h.metadata.generation ||
    h.status?.observedGeneration !== h.metadata.generation
  )
    return `generation ${h.metadata.generation} not observed`;
  if (stalled?.status === 'True' && reconciling?.status === 'True') return 'Stalled and Reconciling';
  if (ready.status === 'Unknown' && ready.reason !== 'Suspended') return `Ready Unknown (${ready.reason})`;
  return undefined;
}

/** What is wrong with an admitted policy's status, or undefined when it has one. */
export function policyStatusProblem(p: SovereigntyPolicy): string | undefined {
  const ready = getCondition(p.status?.conditions, ConditionType.Ready);
  if (!ready?.reason) return 'no Ready condition with a reason';
  if (ready.observedGeneration !== p.metadata.generation)
    return `generation ${p.metadata.generation} not observed`;
  // A policy has a verdict or a failure, never a pending state: Unknown would be an acknowledgement.
  if (ready.status !== 'True' && ready.status !== 'False') return `Ready ${ready.status} (${ready.reason})`;
  return undefined;
}
