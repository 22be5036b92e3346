// Numbers for people: the CLI's human log lines, its progress bar and its summaries round
// here, never in the data a log call passes (the JSON log format keeps full precision,
// durations as numbers of seconds or milliseconds).
//
// A log field's unit comes from its name, in one table (fieldText):
//   seconds, *Seconds      duration   "4.2s", "1m 40s", "2h 05m"  (etaSeconds → eta=…)
//   *Ms                    duration   (blockedMs → blocked=…)
//   bytes, *Bytes          size       "512 B", "1.5 KiB", "12.3 MiB"
//   rate, *PerSecond       rate       one decimal ("12.3/s" for rate)
//   silhouette, precision… score      three decimals
//   psnr*                  dB         two decimals
//   any other fraction                four significant digits (losses: 0.09402)
// Counters a message already shows ("epoch 3/10", "decode 35/680") are not repeated as fields,
// nor a text field whose value the message has as a word ("tfjs backend: wasm").

/** "35ms", "4.2s", "42s", "1m 40s", "2h 05m", "3d 04h"; "?" when not a finite duration ≥ 0. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 0.9995) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(s % 60)}s`;
  const m = Math.round(seconds / 60);
  if (m < 24 * 60) return `${Math.floor(m / 60)}h ${pad2(m % 60)}m`;
  const h = Math.round(seconds / 3600);
  return `${Math.floor(h / 24)}d ${pad2(h % 24)}h`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** "512 B", "1.5 KiB", "123 KiB", "12.3 MiB", "1.2 GiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1023.95 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.abs(value) < 99.95 ? value.toFixed(1) : Math.round(value)} ${BYTE_UNITS[unit]}`;
}

/** `digits` significant digits (trailing zeros kept, so columns line up): 0.09401988 → "0.09402", 0.5 → "0.5000", 1234.56 → "1235", 3e-7 → "3e-7". */
export function formatSignificant(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'n/a' : value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e-4 && abs < 10 ** digits) return value.toPrecision(digits);
  if (abs >= 10 ** digits && abs < 1e15) return String(Math.round(value));
  return Number(value.toPrecision(digits)).toExponential().replace(/e([+-])(\d+)$/, (_, sign: string, exp: string) => `e${sign === '-' ? '-' : ''}${exp}`);
}

/** A loss: four significant digits. */
export const formatLoss = (value: number): string => formatSignificant(value, 4);

/** A score in [-1, 1] or [0, 1] (silhouette, precision, SSIM): three decimals. */
export const formatScore = (value: number): string => (Number.isFinite(value) ? value.toFixed(3) : formatSignificant(value));

/** A rate (images/s): one decimal. */
export const formatRate = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : formatSignificant(value));

const SCORE_KEY = /^(silhouette|explainedVariance|precision|recall|ssim|accuracy|similarity|score|cosine)/i;
const PSNR_KEY = /psnr/i;

/** How a log field shows in a human line: its display name and its value as text. */
export function fieldText(key: string, value: unknown): { key: string; text: string } {
  if (typeof value === 'number') {
    if (key === 'seconds') return { key: 'time', text: formatDuration(value) };
    if (/[a-z]Seconds$/.test(key)) return { key: key.slice(0, -'Seconds'.length), text: formatDuration(value) };
    if (key === 'ms') return { key: 'time', text: formatDuration(value / 1000) };
    if (/[a-z]Ms$/.test(key)) return { key: key.slice(0, -2), text: formatDuration(value / 1000) };
    if (key === 'bytes') return { key: 'size', text: formatBytes(value) };
    if (/[a-z]Bytes$/.test(key)) return { key: key.slice(0, -'Bytes'.length), text: formatBytes(value) };
    if (key === 'rate') return { key, text: `${formatRate(value)}/s` };
    if (/[a-z]PerSecond$/.test(key)) return { key, text: formatRate(value) };
    if (Number.isInteger(value)) return { key, text: String(value) };
    if (SCORE_KEY.test(key)) return { key, text: formatScore(value) };
    if (PSNR_KEY.test(key)) return { key, text: `${value.toFixed(2)} dB` };
    return { key, text: formatSignificant(value) };
  }
  if (typeof value === 'string') return { key, text: value };
  if (value === null || value === undefined) return { key, text: String(value) };
  if (typeof value === 'object' && !Array.isArray(value) && typeof (value as { message?: unknown }).message === 'string') {
    return { key, text: (value as { message: string }).message }; // a serialized error: its message (the stack is in the JSON format)
  }
  return { key, text: JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(formatSignificant(v)) : v)) };
}

/** Counter fields left out of a human line when the message shows them as "n/N". */
const COUNTERS = new Set(['done', 'total', 'epoch', 'epochs', 'of', 'batch', 'batches', 'step', 'steps', 'iteration', 'iterations']);

function shownInMessage(msg: string, value: number): boolean {
  return new RegExp(`(^|[^\\d.])${value}/\\d|\\d/${value}($|[^\\d.])`).test(msg);
}

function wordIn(msg: string, word: string): boolean {
  const at = msg.indexOf(word);
  if (at < 0) return false;
  const before = msg[at - 1];
  const after = msg[at + word.length];
  return (before === undefined || !/[\w./-]/.test(before)) && (after === undefined || !/[\w/-]/.test(after));
}

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** A pino record (one parsed JSON line) as a human line: "info  epoch 3/10  train=0.08210 validation=0.07504 time=4.2s". */
export function humanLine(rec: Record<string, unknown>): string {
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  const fields: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    if (COUNTERS.has(k) && typeof v === 'number' && Number.isInteger(v) && shownInMessage(msg, v)) continue;
    if (typeof v === 'string' && v.length > 1 && wordIn(msg, v)) continue; // "tfjs backend: wasm", not again as backend=wasm
    const f = fieldText(k, v);
    fields.push(`${f.key}=${f.text}`);
  }
  const level = LEVEL_NAMES[rec.level as number] ?? 'log';
  return `${level.padEnd(5)} ${msg}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}
