// shared/retry.ts: bounded attempts, full-jitter backoff with a cap, an immediate first
// retry, a limit on the time spent, and failures passed through unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, maxTotalDelay, retryDelay, withRetry, type RetryInfo, type RetryPolicy } from '../../shared/retry.js';

const policy: RetryPolicy = { attempts: 7, baseDelayMs: 1_000, maxDelayMs: 8_000 };

class Flaky extends Error {
  readonly retryable = true;
}

/** A call that fails with `errors` in turn, then returns 'done'; counts its attempts. */
function failing(errors: Error[]): { run: (attempt: number) => Promise<string>; attempts: number[] } {
  const attempts: number[] = [];
  return {
    attempts,
    run: (attempt) => {
      attempts.push(attempt);
      const error = errors[attempt - 1];
      return error ? Promise.reject(error) : Promise.resolve('done');
    },
  };
}

const retryable = (e: unknown): boolean => e instanceof Flaky;

test('retryDelay: full jitter under an exponential ceiling, capped', () => {
  const ceilings = [1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, policy, () => 1));
  assert.deepEqual(ceilings, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  assert.deepEqual([1, 2, 3].map((n) => retryDelay(n, policy, () => 0)), [0, 0, 0]);
  assert.equal(retryDelay(3, policy, () => 0.5), 2_000);
  for (let i = 0; i < 200; i++) {
    const d = retryDelay(3, policy);
    assert.ok(d >= 0 && d <= 4_000, `${d}`);
  }
});

test('retryDelay: immediateFirstRetry makes the first retry wait nothing and shifts the backoff by one', () => {
  const immediate = { ...policy, immediateFirstRetry: true };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, immediate, () => 1)), [0, 1_000, 2_000, 4_000, 8_000, 8_000]);
  assert.equal(retryDelay(1, immediate, () => 0.99), 0);
});

test('maxTotalDelay: every wait at its ceiling, bounded by maxElapsedMs', () => {
  assert.equal(maxTotalDelay({ attempts: 6, baseDelayMs: 1_000, maxDelayMs: 8_000, immediateFirstRetry: true }), 15_000);
  assert.equal(maxTotalDelay({ attempts: 6, baseDelayMs: 1_000, maxDelayMs: 8_000 }), 23_000);
  assert.equal(maxTotalDelay({ attempts: 6, baseDelayMs: 1_000, maxDelayMs: 8_000, maxElapsedMs: 20_000 }), 20_000);
  assert.equal(maxTotalDelay({ attempts: 1, baseDelayMs: 1_000, maxDelayMs: 8_000 }), 0);
});

test('withRetry: retries retryable failures and returns the first success', async () => {
  const call = failing([new Flaky('one'), new Flaky('two')]);
  const seen: RetryInfo[] = [];
  const result = await withRetry(call.run, { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, isRetryable: retryable, onRetry: (i) => seen.push(i) });
  assert.equal(result, 'done');
  assert.deepEqual(call.attempts, [1, 2, 3]);
  assert.deepEqual(seen.map((i) => [i.attempt, i.attempts, (i.error as Error).message]), [
    [1, 5, 'one'],
    [2, 5, 'two'],
  ]);
  assert.ok(seen.every((i) => i.delayMs >= 0 && i.delayMs <= 2));
});

test('withRetry: a failure that is not retryable is thrown at once, unchanged', async () => {
  const permanent = new Error('400 bad request');
  const call = failing([new Flaky('x'), permanent]);
  await assert.rejects(withRetry(call.run, { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, isRetryable: retryable }), (e: unknown) => e === permanent);
  assert.deepEqual(call.attempts, [1, 2]);
});

test('withRetry: stops after `attempts` and throws the last failure', async () => {
  const errors = [1, 2, 3, 4].map((i) => new Flaky(`f${i}`));
  const call = failing(errors);
  let retries = 0;
  await assert.rejects(
    withRetry(call.run, { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, isRetryable: retryable, onRetry: () => retries++ }),
    (e: unknown) => e === errors[2],
  );
  assert.deepEqual(call.attempts, [1, 2, 3]);
  assert.equal(retries, 2);
  const once = failing([new Flaky('only')]);
  await assert.rejects(withRetry(once.run, { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, isRetryable: retryable }), /only/);
  assert.deepEqual(once.attempts, [1]);
});

test('withRetry: waits between attempts (the first at once with immediateFirstRetry)', async () => {
  const call = failing([new Flaky('a'), new Flaky('b')]);
  const at: number[] = [];
  const started = performance.now();
  await withRetry(
    (attempt) => {
      at.push(performance.now() - started);
      return call.run(attempt);
    },
    { attempts: 3, baseDelayMs: 80, maxDelayMs: 80, immediateFirstRetry: true, isRetryable: retryable, random: () => 1 },
  );
  assert.equal(at.length, 3);
  assert.ok((at[1] as number) - (at[0] as number) < 40, `first retry after ${(at[1] as number) - (at[0] as number)} ms`);
  assert.ok((at[2] as number) - (at[1] as number) >= 75, `second retry after ${(at[2] as number) - (at[1] as number)} ms`);
});

test('withRetry: no retry starts after maxElapsedMs', async () => {
  const errors = Array.from({ length: 10 }, (_, i) => new Flaky(`f${i}`));
  const call = failing(errors);
  const started = performance.now();
  await assert.rejects(
    withRetry(call.run, { attempts: 10, baseDelayMs: 40, maxDelayMs: 40, maxElapsedMs: 100, isRetryable: retryable, random: () => 1 }),
    (e: unknown) => e instanceof Flaky,
  );
  // Waits of 40 ms: retries at ~40 and ~80 ms; a third would start at ~120 ms > 100 (fewer if timers run late).
  assert.ok(call.attempts.length >= 2 && call.attempts.length <= 3, `${call.attempts.length} attempts`);
  assert.ok(performance.now() - started < 100 + 40, 'no wait runs past the limit');
});

test('withRetry: a delay hint (Retry-After) longer than the backoff is used, capped at maxDelayMs', async () => {
  const seen: number[] = [];
  const call = failing([new Flaky('429'), new Flaky('429')]);
  await withRetry(call.run, {
    attempts: 3,
    baseDelayMs: 1,
    maxDelayMs: 30,
    isRetryable: retryable,
    random: () => 0,
    delayHint: (e) => ((e as Error).message === '429' ? (seen.length === 0 ? 20 : 1_000) : undefined),
    onRetry: (i) => seen.push(i.delayMs),
  });
  assert.deepEqual(seen, [20, 30]);
});

test('checkPolicy refuses policies that cannot work', () => {
  assert.throws(() => checkPolicy({ attempts: 0, baseDelayMs: 1, maxDelayMs: 1 }), /attempts must be an integer >= 1, got 0/);
  assert.throws(() => checkPolicy({ attempts: 1.5, baseDelayMs: 1, maxDelayMs: 1 }), /attempts/);
  assert.throws(() => checkPolicy({ attempts: 2, baseDelayMs: -1, maxDelayMs: 1 }), /baseDelayMs/);
  assert.throws(() => checkPolicy({ attempts: 2, baseDelayMs: 1, maxDelayMs: Number.NaN }), /maxDelayMs/);
  assert.throws(() => checkPolicy({ attempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: -5 }), /maxElapsedMs/);
  checkPolicy({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
});
