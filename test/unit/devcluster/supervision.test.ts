import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOurProcess, withFileLock } from '../../../src/devcluster/processes.js';
import {
  restartDelayMs,
  restarted,
  superviseStep,
  type RestartPolicy,
  type Track,
} from '../../../src/devcluster/supervision.js';

const policy: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, stableAfterMs: 60_000 };

describe('restart policy of the local cluster supervisor', () => {
  it('doubles the delay from 1 s up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => restartDelayMs(n, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('restarts a component that exits on its own after the delay, then backs off while it keeps exiting', () => {
    let track: Track | undefined;
    let now = 0;
    const look = (pid: number, alive: boolean) => {
      const r = superviseStep(track, { pid, alive, stopped: false }, now, policy);
      track = r.track;
      return r.step;
    };
    expect(look(100, true)).toEqual({ kind: 'none' });
    now = 5_000;
    expect(look(100, false)).toEqual({ kind: 'exited', delayMs: 1_000 });
    now = 5_500;
    expect(look(100, false)).toEqual({ kind: 'none' });
    now = 6_000;
    expect(look(100, false)).toEqual({ kind: 'restart' });
    track = restarted(track!, 101, now);
    // Exits again at once: the next delay doubles.
    now = 6_500;
    expect(look(101, false)).toEqual({ kind: 'exited', delayMs: 2_000 });
    now = 8_500;
    expect(look(101, false)).toEqual({ kind: 'restart' });
    track = restarted(track!, 102, now);
    now = 9_000;
    expect(look(102, false)).toEqual({ kind: 'exited', delayMs: 4_000 });
  });

  it('starts the delay over once the component stayed up for the stable period', () => {
    let track: Track | undefined = { pid: 7, upSince: 0, restarts: 4 };
    const r1 = superviseStep(track, { pid: 7, alive: true, stopped: false }, 60_000, policy);
    expect(r1.track?.restarts).toBe(0);
    // Even unseen while it was up: an exit after the stable period counts as a first exit.
    track = { pid: 7, upSince: 0, restarts: 4 };
    expect(superviseStep(track, { pid: 7, alive: false, stopped: false }, 61_000, policy).step).toEqual({
      kind: 'exited',
      delayMs: 1_000,
    });
  });

  it('leaves a component stopped on purpose alone, and forgets its history', () => {
    const track: Track = { pid: 7, upSince: 0, restarts: 2, restartAt: 10 };
    expect(superviseStep(track, { pid: 7, alive: false, stopped: true }, 20, policy)).toEqual({
      track: undefined,
      step: { kind: 'none' },
    });
  });

  it('treats a process started by someone else as a new one', () => {
    const track: Track = { pid: 7, upSince: 0, restarts: 3, restartAt: 10 };
    expect(superviseStep(track, { pid: 8, alive: true, stopped: false }, 20, policy)).toEqual({
      track: { pid: 8, upSince: 20, restarts: 0 },
      step: { kind: 'none' },
    });
  });
});

describe('process records and the state lock', () => {
  it('recognises a process only by its binary AND its arguments', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid!;
      expect(isOurProcess({ pid, binary: '/bin/sleep', args: ['30'] })).toBe(true);
      expect(isOurProcess({ pid, binary: '/bin/sleep', args: ['31'] })).toBe(false);
      expect(isOurProcess({ pid, binary: '/bin/true', args: ['30'] })).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('runs the change under an exclusive lock file, takes over the lock of a dead holder, and releases it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdh-lock-'));
    const lock = join(dir, 'state.lock');
    expect(withFileLock(lock, () => readFileSync(lock, 'utf8'))).toBe(String(process.pid));
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, '999999999'); // no such process
    expect(withFileLock(lock, () => 'taken over')).toBe('taken over');
    writeFileSync(lock, '1'); // a live process that is not us holds it
    expect(() => withFileLock(lock, () => 'never', 200)).toThrow(/held by pid 1/);
  });
});
