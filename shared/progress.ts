// Progress for long work: a cli-progress bar on an interactive stderr (with ETA and
// custom fields such as the loss), otherwise a log line at most every few seconds.
import cliProgress from 'cli-progress';
import type { Logger } from './logger.js';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  logger?: Logger;
  /** Field names shown after the bar, e.g. ['loss']. */
  fields?: string[];
  /** Force the bar on or off; default: on when stderr is a TTY. */
  bar?: boolean;
}

export function createProgress({ label, total, logger, fields = [], bar }: ProgressOptions): Progress {
  const useBar = bar ?? Boolean(process.stderr.isTTY);
  if (useBar) {
    const extra = fields.map((f) => ` | ${f} {${f}}`).join('');
    const b = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}${extra}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    b.start(total, 0, Object.fromEntries(fields.map((f) => [f, '-'])));
    return {
      update: (done, values) => b.update(done, values),
      stop: () => b.stop(),
    };
  }
  const started = Date.now();
  let lastLog = 0;
  return {
    update(done, values) {
      const now = Date.now();
      if (now - lastLog < 5000 && done < total) return;
      lastLog = now;
      const rate = done / Math.max(1e-3, (now - started) / 1000);
      const eta = rate > 0 ? Math.round((total - done) / rate) : undefined;
      logger?.info({ done, total, etaSeconds: eta, ...values }, `${label} ${done}/${total}`);
    },
    stop() {},
  };
}
