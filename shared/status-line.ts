// One status line (the progress bar) at the bottom of an interactive stderr, and log lines
// written above it: a line is written as "go to column 1, clear the line, the log line,
// newline, the bar again" in one write, so the bar and the logs never overwrite each other
// and no line is left half-drawn. The bar is cut to the terminal's width (a wrapped bar
// could not be cleared with one line's erase). Only one status line at a time: a second
// replaces the first (it is finished on its own line).
import type { Writable } from 'node:stream';

const CLEAR_LINE = '\r\x1b[2K';

export interface StatusStream extends Pick<Writable, 'write'> {
  isTTY?: boolean;
  columns?: number;
}

export interface StatusLine {
  /** Redraw with this text (cut to the terminal's width). */
  set(text: string): void;
  /** Draw this text one last time and move below it; later logs go under it. */
  done(text?: string): void;
}

interface Active {
  stream: StatusStream;
  text: string;
}

let active: Active | undefined;
let exitHook = false;

/** Columns a status line may use: the terminal's width less one (no wrap), 80 when unknown. */
export function statusWidth(stream: StatusStream): number {
  return Math.max(20, (stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80) - 1);
}

function fit(stream: StatusStream, text: string): string {
  const width = statusWidth(stream);
  const chars = [...text];
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : text;
}

/** Start a status line on `stream` (an interactive one; the caller decides). */
export function startStatusLine(stream: StatusStream, text: string): StatusLine {
  if (active) finish(active);
  const self: Active = { stream, text: fit(stream, text) };
  active = self;
  stream.write(self.text);
  if (!exitHook) {
    exitHook = true;
    // A process that ends while a bar is drawn (an error thrown past it) ends its line first.
    process.once('exit', () => {
      if (active) finish(active);
    });
  }
  return {
    set(next) {
      if (active !== self) return;
      const t = fit(stream, next);
      if (t === self.text) return;
      self.text = t;
      stream.write(`${CLEAR_LINE}${t}`);
    },
    done(last) {
      if (active !== self) return;
      if (last !== undefined) self.text = fit(stream, last);
      finish(self);
    },
  };
}

function finish(a: Active): void {
  a.stream.write(`${CLEAR_LINE}${a.text}\n`);
  if (active === a) active = undefined;
}

/**
 * Write whole lines (ending in "\n") to `stream`: above the status line when one is drawn
 * there, else as they are.
 */
export function writeLines(stream: StatusStream, text: string): void {
  if (active?.stream === stream) stream.write(`${CLEAR_LINE}${text}${active.text}`);
  else stream.write(text);
}
