// One pino logger factory. Logs go to stderr so stdout stays clean for --json output.
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', name = 'imgsim'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything (tests, library callers that pass none). */
export const silentLogger: Logger = pino({ level: 'silent' });
