// Loading, error and empty states: every page shows one of them, never a blank page.
import type { ComponentChildren } from 'preact';
import { ApiError, messageOf } from '../api.js';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" data-testid="loading">
      {what}…
    </p>
  );
}

/** The API's message, one line (a 401 says authentication is required). */
export function ErrorLine({ error, prefix }: { error: unknown; prefix?: string }) {
  const status = error instanceof ApiError && error.status > 0 ? ` (${error.status})` : '';
  return (
    <p class="error" role="alert" data-testid="error">
      {prefix ? `${prefix}: ` : ''}
      {messageOf(error)}
      {status}
    </p>
  );
}

export function Note({ children, testid }: { children: ComponentChildren; testid?: string }) {
  return (
    <p class="note" data-testid={testid}>
      {children}
    </p>
  );
}

/** A bar for done/failed out of total (failed in red after done). */
export function ProgressBar({ done, failed = 0, total, testid }: { done: number; failed?: number; total: number; testid?: string }) {
  const pct = (n: number): string => `${total > 0 ? Math.min(100, (100 * n) / total) : 0}%`;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done + failed}
      data-testid={testid}
      data-done={done}
      data-failed={failed}
      data-total={total}
    >
      <div class="progress-done" style={{ width: pct(done) }} />
      <div class="progress-failed" style={{ width: pct(failed) }} />
    </div>
  );
}
