/**
 * When the local cluster's supervisor restarts a component: the pure part of supervision.
 * A component that exits on its own is restarted after a delay that starts at `initialDelayMs`
 * and doubles with each restart up to `maxDelayMs`; once a component has stayed up for
 * `stableAfterMs` the delay starts over. A component stopped on purpose is left alone.
 */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  stableAfterMs: number;
}

export const RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
};

/** What the supervisor remembers of one component between two looks at it. */
export interface Track {
  /** The process last seen for this component. */
  pid: number;
  /** When the supervisor first saw `pid` (or started it). */
  upSince: number;
  /** Restarts since the component last stayed up for `stableAfterMs`. */
  restarts: number;
  /** Set once an exit was noticed: when to start it again. */
  restartAt?: number;
}

export interface Observation {
  pid: number;
  alive: boolean;
  /** Stopped on purpose (failure injection, `cluster down`): never restarted. */
  stopped: boolean;
}

export type Step =
  | { kind: 'none' }
  /** An exit was just noticed; the restart is due in `delayMs`. */
  | { kind: 'exited'; delayMs: number }
  /** The restart is due now. */
  | { kind: 'restart' };

/** The delay before restart number `restarts + 1` of an unstable streak. */
export function restartDelayMs(restarts: number, policy: RestartPolicy = RESTART_POLICY): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(restarts, 30));
}

/** One look at one component: the next step and what to remember. */
export function superviseStep(
  track: Track | undefined,
  obs: Observation,
  now: number,
  policy: RestartPolicy = RESTART_POLICY,
): { track: Track | undefined; step: Step } {
  if (obs.stopped) return { track: undefined, step: { kind: 'none' } };
  // A process the supervisor has not seen yet (first look, or started by someone else).
  const known = track && track.pid === obs.pid ? track : { pid: obs.pid, upSince: now, restarts: 0 };
  if (obs.alive) {
    const stable = now - known.upSince >= policy.stableAfterMs;
    return {
      track: stable && known.restarts > 0 ? { ...known, restarts: 0 } : known,
      step: { kind: 'none' },
    };
  }
  if (known.restartAt === undefined) {
    const restarts = now - known.upSince >= policy.stableAfterMs ? 0 : known.restarts;
    const delayMs = restartDelayMs(restarts, policy);
    return { track: { ...known, restarts, restartAt: now + delayMs }, step: { kind: 'exited', delayMs } };
  }
  return { track: known, step: now >= known.restartAt ? { kind: 'restart' } : { kind: 'none' } };
}

/** What to remember once the supervisor has started `pid` in place of the exited process. */
export function restarted(track: Track, pid: number, now: number): Track {
  return { pid, upSince: now, restarts: track.restarts + 1 };
}
