// Progress for long work. On an interactive stderr: a one-line bar (status-line.ts) that log
// lines go above, never over. Otherwise (a pipe, a file, --log-format json): a log line at
// most every few seconds and one at the end. Both show a smoothed ETA, and only once it is
// stable; the log data keep full-precision numbers (rate, etaSeconds, elapsedSeconds) and the
// rounding is done for people only (human-format.ts).
import { fieldText, formatDuration, formatRate } from './human-format.js';
import type { Logger } from './logger.js';
import { startStatusLine, statusWidth, type StatusStream } from './status-line.js';

export type ProgressFields = Record<string, string | number | undefined>;

export interface Progress {
  update(done: number, fields?: ProgressFields): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  logger?: Logger;
  /** What is counted ("images", "batches"), shown after the counts and in the rate. */
  unit?: string;
  /** Force the bar on or off; default: on when stderr is a TTY. */
  bar?: boolean;
  /** Where the bar is drawn (default process.stderr). */
  stream?: StatusStream;
  /** Without a bar: a progress line at most this often (default 5 s). */
  logEveryMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  eta?: EtaOptions;
}

export interface EtaOptions {
  /** Time constant of the rate's exponential weighting, in seconds (default 20: a pause each epoch for validation is averaged over). */
  tauSeconds?: number;
  /** No ETA before this many items after the first (default 5)… */
  minItems?: number;
  /** …nor before this many seconds after the first item (default 3). */
  minSeconds?: number;
}

/**
 * Items per second, exponentially weighted over time (recent seconds count most), from the
 * first item on: the time to the first item (start-up, compiling kernels, a PCA before the
 * t-SNE) is not part of the rate. Early on the weights are renormalised (as Adam's bias
 * correction), so the first estimates are the plain average since the first item.
 */
export class RateEstimator {
  private readonly tau: number;
  private readonly minItems: number;
  private readonly minSeconds: number;
  private first: { t: number; done: number } | undefined;
  private last: { t: number; done: number } | undefined;
  private weighted = 0;
  private weight = 0;

  constructor(o: EtaOptions = {}) {
    this.tau = o.tauSeconds ?? 20;
    this.minItems = o.minItems ?? 5;
    this.minSeconds = o.minSeconds ?? 3;
  }

  /** `done` items at time `t` (ms). */
  observe(done: number, t: number): void {
    if (!this.first || !this.last) {
      this.first = this.last = { t, done };
      return;
    }
    const dt = (t - this.last.t) / 1000;
    if (dt < 0.25 && done - this.last.done < 1000) return; // too short to measure: counted with the next
    if (dt <= 0) return;
    const decay = Math.exp(-dt / this.tau);
    const instant = (done - this.last.done) / dt;
    this.weighted = this.weighted * decay + (1 - decay) * instant;
    this.weight = this.weight * decay + (1 - decay);
    this.last = { t, done };
  }

  /** Items per second, or undefined before there is anything to measure. */
  rate(): number | undefined {
    return this.weight > 0 ? this.weighted / this.weight : undefined;
  }

  /** Whether enough items and seconds have gone by for the ETA to mean something. */
  stable(): boolean {
    if (!this.first || !this.last) return false;
    return this.last.done - this.first.done >= this.minItems && (this.last.t - this.first.t) / 1000 >= this.minSeconds;
  }

  /** Seconds left for `total`, once stable. */
  eta(total: number, done: number): number | undefined {
    const rate = this.rate();
    if (!this.stable() || rate === undefined || rate <= 0) return undefined;
    return Math.max(0, (total - done) / rate);
  }
}

/**
 * "train ████████░░░░ 66% 18/27 batches | 8.4/s | ETA 2.1s | epoch 3  loss 0.08210  val 0.07504":
 * the bar takes the columns the rest leaves (10 to 30); what does not fit is cut at the end.
 */
function barText(label: string, done: number, total: number, unit: string, tail: string[], columns: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const rest = [`${Math.floor(fraction * 100)}% ${done}/${total}${unit ? ` ${unit}` : ''}`, ...tail].join(' | ');
  const width = Math.min(30, Math.max(10, columns - label.length - rest.length - 2));
  const filled = Math.round(fraction * width);
  return `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${rest}`;
}

/** Custom fields as the bar shows them ("epoch 2  loss 0.08210  val -"): rounded, an absent one as "-". */
function fieldsText(values: ProgressFields): string[] {
  const entries = Object.entries(values);
  return entries.length ? [entries.map(([k, v]) => `${k} ${v === undefined ? '-' : fieldText(k, v).text}`).join('  ')] : [];
}

export function createProgress({ label, total, logger, unit = '', bar, stream = process.stderr, logEveryMs = 5000, now = Date.now, eta: etaOptions }: ProgressOptions): Progress {
  const useBar = bar ?? Boolean(process.stderr.isTTY);
  const rate = new RateEstimator(etaOptions);
  const started = now();
  let done = 0;
  let fields: ProgressFields = {};
  /** Take an update into the count, the fields and the rate (both modes); returns when. */
  const record = (d: number, values: ProgressFields | undefined): number => {
    const t = now();
    done = d;
    if (values) fields = { ...fields, ...values };
    rate.observe(d, t);
    return t;
  };

  if (useBar) {
    const tail = (final: boolean): string[] => {
      const r = rate.rate();
      const left = rate.eta(total, done);
      return [
        ...(r !== undefined ? [`${formatRate(r)}/s`] : []),
        // the time taken once done; an ETA under a second is not worth reading
        ...(final ? [`in ${formatDuration((now() - started) / 1000)}`] : left !== undefined && left >= 1 ? [`ETA ${formatDuration(left)}`] : []),
        ...fieldsText(fields),
      ];
    };
    const line = startStatusLine(stream, barText(label, 0, total, unit, tail(false), statusWidth(stream)));
    let drawn = 0;
    let stopped = false;
    return {
      update(d, values) {
        if (stopped) return;
        const t = record(d, values);
        if (t - drawn < 100 && d < total) return; // at most 10 redraws a second
        drawn = t;
        line.set(barText(label, done, total, unit, tail(d >= total), statusWidth(stream)));
      },
      stop() {
        if (stopped) return;
        stopped = true;
        line.done(barText(label, done, total, unit, tail(done >= total), statusWidth(stream)));
      },
    };
  }

  let lastLog = started;
  const logLine = (final: boolean): void => {
    const t = now();
    lastLog = t;
    const r = rate.rate();
    const left = final ? undefined : rate.eta(total, done);
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
    logger?.info(
      {
        done,
        total,
        ...(r !== undefined ? { rate: r } : {}),
        ...(left !== undefined ? { etaSeconds: left } : {}),
        elapsedSeconds: (t - started) / 1000,
        ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      },
      `${label} ${done}/${total}${unit ? ` ${unit}` : ''} (${percent}%)`,
    );
  };
  let finished = false;
  return {
    update(d, values) {
      if (finished) return;
      const t = record(d, values);
      if (d >= total) {
        finished = true;
        logLine(true);
      } else if (t - lastLog >= logEveryMs) logLine(false);
    },
    stop() {},
  };
}
