// One pino logger factory. Logs go to stderr so stdout stays clean for --json output.
// Two formats (--log-format, IMGSIM_LOG_FORMAT): `json`, pino's lines with every number at
// full precision and durations as numbers (for machines and log shippers), and `human`
// (the CLI's default): "info  epoch 3/10  train=0.08210 validation=0.07504 time=4.2s",
// rounded for people by human-format.ts. Human lines go above a progress bar, never over
// it (status-line.ts).
import { pino, type Logger } from 'pino';
import { humanLine } from './human-format.js';
import { writeLines } from './status-line.js';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'human' | 'json';

/** A pino destination turning its JSON lines into human lines on stderr. */
function humanStderr(): { write(chunk: string): void } {
  return {
    write(chunk) {
      const out: string[] = [];
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        try {
          out.push(`${humanLine(JSON.parse(line) as Record<string, unknown>)}\n`);
        } catch {
          out.push(`${line}\n`);
        }
      }
      if (out.length) writeLines(process.stderr, out.join(''));
    },
  };
}

export function createLogger(level: LogLevel = 'info', options: { name?: string; format?: LogFormat } = {}): Logger {
  const name = options.name ?? 'imgsim';
  return options.format === 'human' ? pino({ name, level }, humanStderr()) : pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything (tests, library callers that pass none). */
export const silentLogger: Logger = pino({ level: 'silent' });
