// imgsim runs | run-status <id> [--wait] | retry-failed <id>: runs of the queue-driven pipeline.
import type { Command } from 'commander';
import { UsageError, UserError } from '../../shared/errors.js';
import { describeOtherFailures, summariseFailures, type FailureSummary } from '../../shared/runs/failure-kinds.js';
import type { ItemFailure, MapState, RunRecord } from '../../shared/runs/index.js';
import type { ConnectOptions, Services } from '../../shared/services.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { addConfigFlags, contextFrom, positiveInt, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { baseCommand } from './catalog.js';
import { formatDuration, formatRate } from '../../shared/human-format.js';

async function withServices<T>(
  opts: Record<string, unknown>,
  fn: (ctx: CommandContext, s: Services) => Promise<T>,
  connect: ConnectOptions = {},
): Promise<T> {
  const ctx = contextFrom(opts);
  const { connectServices } = await import('../../shared/services.js');
  const services = await connectServices(ctx.config, ctx.logger, connect);
  try {
    return await fn(ctx, services);
  } finally {
    await services.close();
  }
}

function line(r: RunRecord): string {
  const eta = r.etaSeconds !== undefined && r.status !== 'completed' ? `, ETA ${formatDuration(r.etaSeconds)}` : '';
  const rate = r.imagesPerSecond !== undefined ? `, ${formatRate(r.imagesPerSecond)} img/s` : '';
  const status = r.heldBack !== undefined ? 'held back' : r.status;
  const map = r.map ? `, map ${describeMap(r.map)}` : '';
  return `${r.id}  ${status.padEnd(10)} ${r.dataset}  ${r.done}/${r.total} done, ${r.failed} failed${rate}${eta}${map}  ${r.source}`;
}

/** "pending", "tsne 340/1000", "done: 7 clusters", "failed: …". */
function describeMap(m: MapState): string {
  switch (m.status) {
    case 'running':
      return m.phase ? `${m.phase}${m.total !== undefined && m.total > 1 ? ` ${m.done ?? 0}/${m.total}` : ''}` : 'running';
    case 'done':
      return m.k !== undefined ? `done: ${m.k} clusters` : 'done';
    case 'failed':
      return `failed: ${m.error ?? 'unknown error'}`;
    case 'pending':
      return 'pending';
  }
}

export function runsCommand(): Command {
  const cmd = baseCommand('runs')
    .addOption(valueOption('--limit <n>', 'how many runs to list', { value: '20', allowed: wholeNumber(1) }))
    .option('--json', 'print JSON: an array of runs')
    .addHelpText('after', helpAfter(['imgsim runs', 'imgsim runs --limit 5 --json', 'imgsim runs --redis redis://127.0.0.1:6379']));
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((opts: Record<string, unknown>) => {
    const limit = positiveInt('--limit', opts.limit);
    return withServices(opts, async (ctx, s) => {
      const runs = await s.runs.list({ limit });
      print(ctx, runs, runs.length ? runs.map(line) : ['no runs yet']);
    });
  });
}

/** A run id as enqueue prints it, checked before Redis is reached (the store's own check words it for the HTTP API). */
function checkRunId(id: string): string {
  if (!/^[a-z0-9-]{6,64}$/.test(id)) throw new UsageError(`<id> must be a run id as imgsim enqueue and imgsim runs print it (6–64 lowercase letters, digits or -), got ${JSON.stringify(id)}`);
  return id;
}

export function runStatusCommand(): Command {
  const cmd = baseCommand('run-status')
    .option('--wait', 'poll until the run completes (searchable) or fails; exit 1 if it failed or was held back (not live)')
    .option('--wait-map', 'as --wait, then also until its cluster map is done; exit 1 if the map failed')
    .addOption(valueOption('--timeout <seconds>', 'with --wait: give up after this long', { value: '86400', allowed: wholeNumber(1) }))
    .option('--json', 'print JSON {run, failures, failuresTotal, failureSummary}')
    .addHelpText(
      'after',
      helpAfter([
        'imgsim run-status lq3x9z2k-1a2b3c     # a run id as imgsim enqueue and imgsim runs print it',
        'imgsim run-status lq3x9z2k-1a2b3c --wait --json',
        'imgsim run-status lq3x9z2k-1a2b3c --wait-map --timeout 3600',
      ]),
    );
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((id: string, opts: Record<string, unknown>) => {
    checkRunId(id);
    const timeoutSeconds = positiveInt('--timeout', opts.timeout);
    return withServices(
      opts,
      async (ctx, s) => {
        if (!(await s.runs.get(id))) throw new UserError(`Run ${id} not found`);
        const progressLines = changedLines();
        const wait = opts.wait === true || opts.waitMap === true;
        const run =
          wait
            ? await s.runs.waitFor(id, {
                until: opts.waitMap === true ? 'mapped' : 'finished',
                timeoutMs: timeoutSeconds * 1000,
                pollMs: 500,
                onProgress: (r: RunRecord) => {
                  if (!ctx.json) progressLines.write(r);
                },
              })
            : await s.runs.progress(id);
        const all = await s.runs.failures(id, { limit: Number.MAX_SAFE_INTEGER });
        const failureSummary = summariseFailures(all.items.map((f) => f.reason));
        const failures = all.items.slice(0, 1000);
        print(ctx, { run, failures, failuresTotal: all.total, failureSummary }, [
          line(run),
          ...(run.modelId || run.task ? [`model: ${run.modelId ?? '(training)'}${run.task ? `, task ${run.task}` : ''}`] : []),
          ...(run.error ? [`error: ${run.error}`] : []),
          ...(run.heldBack !== undefined ? [`held back: ${run.heldBack}`] : []),
          ...(run.map ? [`map: ${describeMap(run.map)}`] : []),
          ...(all.total > 0 ? [failureLine(failureSummary)] : []),
          ...failures.map((f: ItemFailure) => `  failed ${f.key}: ${f.reason} — ${f.message}`),
          ...(all.total > failures.length ? [`  … and ${all.total - failures.length} more (--json lists the first ${failures.length})`] : []),
        ]);
        if (wait && (run.status === 'failed' || run.heldBack !== undefined)) process.exitCode = 1;
        if (opts.waitMap === true && run.map?.status === 'failed') process.exitCode = 1;
      },
      opts.wait === true || opts.waitMap === true ? waitThroughOutages(id) : {},
    );
  });
}

/** Progress lines on stderr while waiting: when the counts or status change, else every 30 s. */
function changedLines(): { write(r: RunRecord): void } {
  let last = '';
  let lastAt = 0;
  return {
    write(r) {
      const key = `${r.status} ${r.done} ${r.failed} ${r.total} ${r.heldBack ?? ''} ${r.map ? describeMap(r.map) : ''}`;
      const now = Date.now();
      if (key === last && now - lastAt < 30_000) return;
      last = key;
      lastAt = now;
      process.stderr.write(`${line(r)}\n`);
    },
  };
}

function failureLine(s: FailureSummary): string {
  return `failures: ${s.badInput} bad input (never retried)${s.otherTotal > 0 ? `, ${describeOtherFailures(s)} (retry-failed retries them)` : ''}`;
}

/** While waiting, a Redis outage is two lines on stderr (gone, back) and the wait goes on. */
function waitThroughOutages(id: string): ConnectOptions {
  return {
    redisWatch: {
      onDown: (o) => process.stderr.write(`Redis at ${o.redis} unreachable (${o.cause}); waiting for it to come back\n`),
      onUp: (r) => process.stderr.write(`Redis at ${r.redis} is back after ${formatDuration(r.awayMs / 1000)}; still waiting for run ${id}\n`),
    },
  };
}

export function retryFailedCommand(): Command {
  const cmd = baseCommand('retry-failed')
    .option('--json', 'print JSON {runId, retried}')
    .addHelpText(
      'after',
      helpAfter(
        ['imgsim retry-failed lq3x9z2k-1a2b3c     # a run id as imgsim enqueue and imgsim runs print it', 'imgsim retry-failed lq3x9z2k-1a2b3c --json'],
        ["Bad images (the image's own bytes) are never retried; the run's listing is read from --artifacts."],
      ),
    );
  addConfigFlags(cmd, ['redisUrl', 'artifacts']);
  return cmd.action((id: string, opts: Record<string, unknown>) => {
    checkRunId(id);
    return withServices(opts, async (ctx, s) => {
      const { retryFailed } = await import('../../pipelines/distributed/runs.js');
      const { retried } = await retryFailed(id, s);
      print(ctx, { runId: id, retried }, [retried ? `${retried} item(s) of run ${id} re-enqueued` : `run ${id} has no failed items to retry`]);
    });
  });
}
