import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  log: string;
  /** Stopped on purpose (failure injection): the cluster's supervisor leaves it down. */
  stopped?: boolean;
}

/** A free TCP port on the loopback interface (the kernel picks it). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts a long-running component in its own process group, detached from the caller so it
 * survives the CLI that started it; stdout and stderr go to `log`.
 */
export function startDetached(
  name: string,
  binary: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = process.env,
): ProcessRecord {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${binary})`);
    child.unref();
    return { name, pid: child.pid, binary, args, log };
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `pid` is alive AND still runs `binary` with the recorded arguments — a PID reused by
 * an unrelated process after a reboot or crash (even another Node.js process) is never treated
 * as ours.
 */
export function isOurProcess(rec: Pick<ProcessRecord, 'pid' | 'binary' | 'args'>): boolean {
  const cmdline = `/proc/${rec.pid}/cmdline`;
  if (!existsSync(cmdline)) return false;
  try {
    const argv = readFileSync(cmdline, 'utf8').replace(/\0$/, '').split('\0');
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const same = argv.length === rec.args.length + 1 && rec.args.every((a, i) => argv[i + 1] === a);
    return argv[0] === rec.binary && same && state !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isOurProcess(rec)) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(rec.pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(rec)) return;
    await sleep(100);
  }
  signal('SIGKILL');
  while (isOurProcess(rec)) await sleep(50);
}

/** Replaces the file at once (write, then rename): a concurrent reader never sees half of it. */
export function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` while holding the lock file `path` (created exclusively, holding our PID), so that
 * processes that read, change and write the same file do not lose each other's changes. The
 * lock of a process that died holding it is taken over. `fn` is synchronous: the lock is never
 * held across an await, so a signal cannot leave it behind.
 */
export function withFileLock<T>(path: string, fn: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (owner > 0 && !existsSync(`/proc/${owner}`)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`lock ${path} is held by pid ${owner}; remove the file if that process is not ours`);
      }
      Atomics.wait(sleeper, 0, 0, 10);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(path, { force: true });
  }
}

export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
