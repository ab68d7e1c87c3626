import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type Logger = winston.Logger;
export type LogFields = Record<string, unknown>;

/** The `logger` of every line unless a child logger names another component. */
export const ROOT_LOGGER = 'hdh-operator';

/**
 * Fields of the work in progress (a reconcile's controller, namespace, name and reconcileID),
 * carried across awaits so that every line logged during it has them, whichever logger logs it.
 */
const context = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with `fields` added to every line logged during it, its async continuations included. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/**
 * controller-runtime's (zap's) keys: `ts` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg`,
 * then the fields of the work in progress, then the line's own (which win on a clash).
 */
const controllerRuntimeKeys = winston.format((info) => {
  const { level, message, ...own } = info;
  const line = {
    ts: new Date().toISOString(),
    level,
    logger: ROOT_LOGGER,
    msg: message,
    ...context.getStore(),
    ...own, // also carries winston's symbol keys (the level it routes by)
  };
  // The line no longer has `message`: winston only needs the level symbol from here on.
  return line as unknown as winston.Logform.TransformableInfo;
});

/**
 * JSON lines for machines (the default when running in a cluster), aligned text for people.
 * Values are never secrets: callers log names and reasons, not payloads.
 */
export function createLogger(
  level = 'info',
  format: LogFormat = 'json',
  /** Where lines go (default: standard output). */
  stream?: NodeJS.WritableStream,
): Logger {
  const f =
    format === 'json'
      ? // Insertion order (ts, level, logger, msg first), not sorted keys.
        winston.format.combine(controllerRuntimeKeys(), winston.format.json({ deterministic: false }))
      : winston.format.combine(
          controllerRuntimeKeys(),
          winston.format.printf(({ ts, level: lvl, msg, logger: _logger, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            const time = new Date(String(ts)).toTimeString().slice(0, 8); // local HH:mm:ss
            return `${time} ${String(lvl).toUpperCase().padEnd(5)} ${String(msg)}${fields ? ' ' + fields : ''}`;
          }),
        );
  const transport = stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console();
  return winston.createLogger({ level, format: f, transports: [transport] });
}
