// Structured logs (pino): one JSON object a line on stderr, for example
//   {"level":"error","time":"2025-01-01T00:00:00.000Z","pid":42,"msg":"operation failed","op":"read","path":"/a","key":"blocks/default/2/1/0/0","cause":"EIO: ..."}
// A detached mount's stderr is its log file (strata.log in the volume's home). Lines are written
// synchronously, so the last words of a failing process are never lost.

import { pino, type Logger } from 'pino';

export type LogFields = Record<string, unknown>;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logger: Logger = pino(
  {
    level: 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 2, sync: true }),
);

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** Lines below `level` are dropped from now on. */
export function setLogLevel(level: LogLevel): void {
  logger.level = level;
}

export function log(level: LogLevel, message: string, fields: object = {}): void {
  logger[level](fields, message);
}
