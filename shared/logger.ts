// One pino logger factory. Logs go to stderr so stdout stays clean for --json output.
// Services log JSON lines (for log shippers); the CLI asks for `human` lines:
// "info  epoch 3/10 train=0.0123 validation=0.0131".
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** Formats pino's JSON lines as short human lines on stderr. */
function humanStderr(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const fields = Object.entries(rec)
            .filter(([k]) => !HIDDEN.has(k))
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
          const level = LEVEL_NAMES[rec.level as number] ?? 'log';
          process.stderr.write(`${level.padEnd(5)} ${typeof rec.msg === 'string' ? rec.msg : ''}${fields.length ? `  ${fields.join(' ')}` : ''}\n`);
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

export function createLogger(level: LogLevel = 'info', options: { name?: string; human?: boolean } = {}): Logger {
  const name = options.name ?? 'imgsim';
  return options.human ? pino({ name, level }, humanStderr()) : pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything (tests, library callers that pass none). */
export const silentLogger: Logger = pino({ level: 'silent' });
