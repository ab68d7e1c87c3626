// The API server's audit log as the witness of who wrote what and when: the local control plane
// records every write (Metadata level: no bodies) with the User-Agent of the process that sent it,
// and each operator process sends its leader-election identity in it (`… (<hostname>_<pid>)`).
import { readFileSync } from 'node:fs';

export interface AuditEvent {
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  stageTimestamp?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** Write requests recorded in the audit log (the default policy records only writes), in order. */
export function auditedWrites(path: string): AuditEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent);
}

/** True when the request came from the operator process with this identity. */
export const sentBy = (e: AuditEvent, identity: string) => !!e.userAgent?.includes(`(${identity})`);

/** The identity of the operator process that sent the request, if an operator did. */
export function operatorIdentity(e: AuditEvent): string | undefined {
  return /^hdh-operator\/\S+ \(([^)]+)\)/.exec(e.userAgent ?? '')?.[1];
}

export function describeWrite(e: AuditEvent): string {
  const o = e.objectRef ?? {};
  return `${e.requestReceivedTimestamp} ${e.verb} ${o.resource}${o.subresource ? `/${o.subresource}` : ''} ${o.namespace ?? ''}/${o.name ?? ''} → ${e.responseStatus?.code}`;
}

export interface WriterSpan {
  identity: string;
  first: string;
  last: string;
  writes: number;
}

/**
 * The operator processes' writes as spans, in the order they happened: one span per process when
 * no two ever wrote in alternation. Any process with more than one span wrote while another did.
 */
export function writerSpans(writes: readonly AuditEvent[]): WriterSpan[] {
  const spans: WriterSpan[] = [];
  const ordered = writes
    .map((e) => ({ e, id: operatorIdentity(e) }))
    .filter((x): x is { e: AuditEvent; id: string } => x.id !== undefined)
    .sort((a, b) => a.e.requestReceivedTimestamp.localeCompare(b.e.requestReceivedTimestamp));
  for (const { e, id } of ordered) {
    const last = spans.at(-1);
    if (last?.identity === id) {
      last.last = e.requestReceivedTimestamp;
      last.writes++;
    } else {
      spans.push({
        identity: id,
        first: e.requestReceivedTimestamp,
        last: e.requestReceivedTimestamp,
        writes: 1,
      });
    }
  }
  return spans;
}

/** An object's managedFields entry, as the API server keeps it (time to the second). */
export interface ManagedWrite {
  resource: string;
  namespace?: string;
  name: string;
  subresource?: string;
  manager: string;
  time: string;
}

/**
 * The second witness, kept by the objects themselves: every operator entry of `managedFields` (its
 * time to the second) matches a write of that object by an operator process in the audit log, and
 * none falls inside a window where no process may write (between a leader's end and the takeover).
 * Returns what does not hold.
 */
export function unexplainedManagedWrites(
  managed: readonly ManagedWrite[],
  writes: readonly AuditEvent[],
  quiet: readonly { from: number; to: number }[] = [],
): string[] {
  const problems: string[] = [];
  for (const m of managed) {
    const t = Date.parse(m.time);
    const what = `${m.resource}${m.subresource ? `/${m.subresource}` : ''} ${m.namespace ?? ''}/${m.name} by ${m.manager} at ${m.time}`;
    const explained = writes.some((e) => {
      const o = e.objectRef ?? {};
      return (
        operatorIdentity(e) !== undefined &&
        o.resource === m.resource &&
        (o.namespace ?? '') === (m.namespace ?? '') &&
        o.name === m.name &&
        (o.subresource ?? '') === (m.subresource ?? '') &&
        // The entry's time is the write's, cut to the second.
        t >= Date.parse(e.requestReceivedTimestamp) - 1000 &&
        t <= Date.parse(e.stageTimestamp ?? e.requestReceivedTimestamp) + 1000
      );
    });
    if (!explained) problems.push(`${what}: no write of the operator in the audit log at that time`);
    // Whole seconds strictly inside the window: no write may have happened then.
    const inside = quiet.find((w) => t >= w.from + 1000 && t + 1000 <= w.to);
    if (inside) {
      problems.push(
        `${what}: written while no process held the lease (${new Date(inside.from).toISOString()} – ${new Date(inside.to).toISOString()})`,
      );
    }
  }
  return problems;
}
