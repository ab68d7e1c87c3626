import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type Logger = winston.Logger;

/**
 * JSON logs for machines (the default when running in a cluster), aligned text for people.
 * Values are never secrets: callers log names and reasons, not payloads.
 */
export function createLogger(level = 'info', format: LogFormat = 'json'): Logger {
  const f =
    format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss' }),
          winston.format.printf(({ timestamp, level: lvl, message, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${timestamp} ${lvl.toUpperCase().padEnd(5)} ${message}${fields ? ' ' + fields : ''}`;
          }),
        );
  return winston.createLogger({ level, format: f, transports: [new winston.transports.Console()] });
}
