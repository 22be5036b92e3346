// imgsim dataset duplicates <name> (and imgsim duplicates --dataset <name>): a queued
// dataset's duplicates pass on the workers — start or join it, follow it (progress, and why
// it is not moving), show a page of its groups, mark a pair "not a duplicate"
// (pipelines/distributed/duplicates-*.ts, docs/duplicates.md).
import type { Command } from 'commander';
import { UsageError, UserError } from '../../shared/errors.js';
import { formatDuration } from '../../shared/human-format.js';
import type { DuplicatePass } from '../../shared/runs/duplicate-passes.js';
import { DEFAULT_MIN_TIER, tierFromFlag, TIERS, type Tier } from '../../shared/duplicates/tiers.js';
import type { ConnectOptions } from '../../shared/services.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { cosineOption, fractionOption, learnedThreshold, learnedThresholdText } from '../learned-flags.js';
import { addConfigFlags, contextFrom, positiveInt } from '../options.js';
import { print } from '../print.js';
import { subCommand } from './catalog.js';

/** While --wait waits, a Redis outage is two lines on stderr (gone, back) and the wait goes on. */
function waitThroughOutages(dataset: string): ConnectOptions {
  return {
    redisWatch: {
      onDown: (o) => process.stderr.write(`Redis at ${o.redis} unreachable (${o.cause}); waiting for it to come back\n`),
      onUp: (r) => process.stderr.write(`Redis at ${r.redis} is back after ${formatDuration(r.awayMs / 1000)}; still waiting for the duplicates pass of dataset ${dataset}\n`),
    },
  };
}

function passLine(p: DuplicatePass): string {
  const counts = [
    p.images !== undefined ? `${p.images} images` : '',
    p.toFingerprint !== undefined ? `${p.fingerprinted ?? 0}/${p.toFingerprint} fingerprinted` : '',
    p.failed ? `${p.failed} failed` : '',
    p.status === 'pairing' ? pairingLine(p) : '',
    p.pairs !== undefined ? `${p.pairs} pairs, ${p.groups ?? 0} groups` : '',
  ].filter(Boolean);
  const learned = p.fraction !== undefined ? `, fraction ${p.fraction}` : p.cosine !== undefined ? `, cosine ${p.cosine}` : '';
  return `pass ${p.passId} (${p.mode}${learned})  ${p.status}${counts.length > 0 ? `  ${counts.join(', ')}` : ''}${p.error ? `  error: ${p.error}` : ''}`;
}

/** The learned tier's threshold of a report, and how it was set. */
export function learnedLine(r: { thresholds: { cosine: number }; fraction?: number; learnedSkipped?: string }): string {
  if (r.learnedSkipped !== undefined) return `learned tier: none this pass (${r.learnedSkipped})`;
  return `learned tier: ${learnedThresholdText(r)}`;
}

/** What a pass in status pairing is doing: finding candidates, verifying them (n/m jobs), merging. */
function pairingLine(p: DuplicatePass): string {
  if (p.phase === 'verifying') return `verifying ${p.candidatePairs ?? 0} candidate pairs: ${p.verified ?? 0}/${p.chunks ?? 0} jobs`;
  if (p.phase === 'merging') return 'merging the verified pairs';
  return 'finding candidate pairs';
}

/** Seconds without a change of the pass after which --wait says what it waits for. */
const STALE_SECONDS = 90;

/**
 * Why an active pass has not moved for a while: no worker takes the jobs it waits on, or a
 * worker died holding one (BullMQ gives a stalled job to another worker once its lock expires).
 */
export async function staleHint(
  p: DuplicatePass,
  hasWorkers: (stage: 'fingerprint' | 'duplicates') => Promise<boolean | undefined>,
  now = Date.now(),
  changedAt = Date.parse(p.updatedAt),
): Promise<string | undefined> {
  const idle = (now - changedAt) / 1000;
  if (!(idle >= STALE_SECONDS)) return undefined;
  // Every batch counted: the pass waits for its pairs step (the duplicates queue), though
  // its status stays fingerprinting until that step starts.
  const batchesDone = p.toFingerprint !== undefined && (p.fingerprinted ?? 0) + (p.failed ?? 0) >= p.toFingerprint;
  const stage = p.status === 'fingerprinting' && !batchesDone ? 'fingerprint' : 'duplicates';
  const workers = await hasWorkers(stage);
  const since = `no change for ${formatDuration(Math.floor(idle / 30) * 30)}`;
  if (workers === false) return `${since}: no ${stage} worker is running — start one (imgsim worker ${stage})`;
  const step = p.status === 'pairing' && p.phase !== 'verifying' ? 'a long step, or ' : '';
  return `${since}: ${step}a ${stage} worker stopped holding a job — it runs again once its lock expires (a few minutes)`;
}

/**
 * When the pass last changed, by this machine's clock once the wait has seen it change:
 * updatedAt is the workers' clock, and a skew between the machines would make the hint come
 * early or late. The first poll can only go by updatedAt (a pass stuck for an hour is
 * reported at once, not 90 s later), and never later than now.
 */
export function changeClock(clock = Date.now): (updatedAt: string) => number {
  let seen: string | undefined;
  let changedAt = 0;
  return (updatedAt) => {
    if (updatedAt !== seen) {
      const recorded = Date.parse(updatedAt);
      changedAt = seen === undefined && recorded < clock() ? recorded : clock();
      seen = updatedAt;
    }
    return changedAt;
  };
}

/** `ask` answered from a copy at most `ms` old per argument (the wait polls twice a second; a worker count needs CLIENT LIST). */
function cachedFor<K, V>(ms: number, ask: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const seen = new Map<K, { at: number; value: Promise<V> }>();
  return (key) => {
    const hit = seen.get(key);
    if (hit && Date.now() - hit.at < ms) return hit.value;
    const value = ask(key);
    seen.set(key, { at: Date.now(), value });
    value.catch(() => seen.delete(key));
    return value;
  };
}

function tierFlag(flag: string, value: unknown): Tier | undefined {
  return value === undefined ? undefined : tierFromFlag(flag, value);
}

export function datasetDuplicatesCommand(): Command {
  const cmd = subCommand('duplicates', "start the dataset's duplicates pass on the workers (fingerprint, then duplicate, verify and group), or show its groups")
    .argument('<name>', 'dataset name')
    .addOption(
      valueOption('--mode <mode>', 'missing: fingerprint only images new or changed since the last pass and look for pairs involving them; all: every image, every pair', {
        value: 'missing',
        choices: ['missing', 'all'],
      }),
    )
    .option('--wait', 'wait until the pass completes (exit 1 if it failed or --timeout passed first), then show its groups as --show does')
    .addOption(cosineOption())
    .addOption(fractionOption())
    .addOption(valueOption('--timeout <seconds>', 'with --wait: give up after this long', { value: '3600', allowed: wholeNumber(1) }))
    .option('--show', 'start nothing: show the latest pass and a page of its groups (dismissed pairs left out)')
    .addOption(valueOption('--min-tier <tier>', 'with --show or --wait: weakest tier a pair may have to join a group', { default: DEFAULT_MIN_TIER, choices: TIERS }))
    .addOption(valueOption('--tier <tier>', 'with --show or --wait: only groups whose strongest tier is this one', { default: 'all', choices: TIERS }))
    .addOption(valueOption('--limit <n>', 'with --show or --wait: groups shown', { value: '20', allowed: wholeNumber(1) }))
    .addOption(valueOption('--dismiss <keys...>', 'start nothing: mark the pair of these two keys "not a duplicate" (never reported again, across passes and re-indexes)', { default: 'none' }))
    .option('--json', 'print JSON: the pass ({pass, created}), or the page of groups as GET /v1/datasets/{name}/duplicates returns it')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim dataset duplicates photos                       # new and changed images since the last pass',
          'imgsim dataset duplicates photos --mode all --wait --timeout 1800',
          'imgsim dataset duplicates photos --fraction 0.02 --wait --min-tier learned   # learned pairs for the closest 2%',
          'imgsim dataset duplicates photos --show --tier verified --limit 5 --json',
          'imgsim dataset duplicates photos --dismiss 2024/a.jpg 2024/b.jpg',
        ],
        [
          'The fingerprint and duplicates workers (imgsim worker fingerprint, imgsim worker duplicates) do the work;',
          'the groups are stored with the dataset and served by GET /v1/datasets/{name}/duplicates (docs/duplicates.md).',
          'Schedule passes with imgsim schedule add <name> --dataset <name> --duplicates --cron PATTERN.',
        ],
      ),
    );
  addConfigFlags(cmd, ['redisUrl', 'artifacts']);
  return cmd.action(async (name: string, opts: Record<string, unknown>) => {
    const dismiss = opts.dismiss as string[] | undefined;
    if ([dismiss !== undefined, opts.show === true, opts.wait === true].filter(Boolean).length > 1) throw new UsageError('--dismiss, --show and --wait exclude each other');
    const action: QueuedDuplicatesAction = dismiss !== undefined ? 'dismiss' : opts.show === true ? 'show' : opts.wait === true ? 'wait' : 'start';
    await queuedDuplicates(name, action, opts);
  });
}

/** What one call does: start (or join) the pass; start and wait, then show; show; mark a pair. */
export type QueuedDuplicatesAction = 'start' | 'wait' | 'show' | 'dismiss';

/**
 * A queued dataset's duplicates pass from the command line — `imgsim dataset duplicates
 * <name>` and `imgsim duplicates --dataset <name>`. `opts`: the command's flags (--mode,
 * --timeout, --tier, --min-tier, --limit, --dismiss, --json and the config flags).
 */
export async function queuedDuplicates(name: string, action: QueuedDuplicatesAction, opts: Record<string, unknown>): Promise<void> {
  const ctx = contextFrom(opts);
  const tier = tierFlag('--tier', opts.tier);
  const minTier = tierFlag('--min-tier', opts.minTier);
  const limit = positiveInt('--limit', opts.limit);
  const timeoutSeconds = positiveInt('--timeout', opts.timeout);
  const dismiss = opts.dismiss as string[] | undefined;
  if (dismiss !== undefined && dismiss.length !== 2) throw new UsageError(`--dismiss takes the two keys of one pair, got ${dismiss.length}: ${dismiss.join(' ')}`);
  if (dismiss !== undefined && dismiss[0] === dismiss[1]) throw new UsageError(`--dismiss takes two different images, got ${JSON.stringify(dismiss[0])} twice`);
  const learned = learnedThreshold(opts);
  if ((action === 'show' || action === 'dismiss') && (learned.cosine !== undefined || learned.fraction !== undefined)) {
    throw new UsageError(`${learned.cosine !== undefined ? '--cosine' : '--fraction'} sets the threshold of a pass it starts; --${action} starts none`);
  }
  const [{ connectServices }, results, { DuplicatePasses, TERMINAL_PASS_STATUSES }, { isRedisConnectionError }] = await Promise.all([
    import('../../shared/services.js'),
    import('../../pipelines/distributed/duplicates-results.js'),
    import('../../shared/runs/duplicate-passes.js'),
    import('../../shared/queue/connection.js'),
  ]);
  const services = await connectServices(ctx.config, ctx.logger, action === 'wait' ? waitThroughOutages(name) : {});
  const passes = new DuplicatePasses(services.redis, ctx.config.queuePrefix);
  const show = async (): Promise<void> => {
    const page = await results.readGroups(name, { ...(tier ? { tier } : {}), ...(minTier ? { minTier } : {}), limit, offset: 0 }, { artifacts: services.artifacts, passes });
    print(ctx, page, [
      page.pass ? passLine(page.pass) : `no duplicates pass of dataset ${name} yet (imgsim dataset duplicates ${name})`,
      ...(page.report
        ? [
            `report of pass ${page.report.passId}: ${page.report.images} images, pairs by tier ${TIERS.map((t) => `${t} ${page.report?.pairsByTier[t] ?? 0}`).join(', ')}; ${page.report.dismissed} dismissed, ${page.report.failed} failed`,
            learnedLine(page.report),
            `${page.total} group${page.total === 1 ? '' : 's'} (weakest tier ${page.minTier}${page.tier ? `, strongest ${page.tier}` : ''})${page.total > page.groups.length ? `, the first ${page.groups.length}` : ''}:`,
            ...page.groups.flatMap((g) => [
              `  ${g.tier}: keep ${g.keeper}`,
              ...g.members.filter((m) => !m.keeper).map((m) => `    ${m.key}  ${m.tier}  ${m.width}×${m.height}, ${m.bytes} bytes`),
            ]),
          ]
        : []),
    ]);
  };
  try {
    const record = await services.runs.getDataset(name);
    if (!record) throw new UserError(`Dataset "${name}" not found: no run has completed for it yet (imgsim dataset list shows the datasets)`);
    if (action === 'dismiss') {
      const [a, b] = dismiss as [string, string];
      const added = await results.dismissPair(record, a, b, { artifacts: services.artifacts, redis: services.redis, prefix: ctx.config.queuePrefix, qdrant: services.qdrant }).catch((error: unknown) => {
        // A key that is not an image of the dataset is bad input: exit 2 naming the flag.
        throw error instanceof results.NotInDatasetError ? new UsageError(`--dismiss: "${error.key}" is not an image of dataset ${name}`) : error;
      });
      print(ctx, { dataset: name, a, b, dismissed: added }, [added ? `${a} and ${b}: marked "not a duplicate" in dataset ${name}` : `${a} and ${b} were already marked "not a duplicate"`]);
      return;
    }
    if (action === 'show') return await show();
    const { pass, created } = await results.enqueueDuplicates(name, opts.mode === 'all' ? 'all' : 'missing', { runs: services.runs, passes, scheduler: services.scheduler }, learned);
    if (action === 'start') {
      print(ctx, { pass, created }, [
        created ? `duplicates pass ${pass.passId} of dataset ${name} enqueued (mode ${pass.mode})` : `dataset ${name} has a pass running already: ${passLine(pass)}`,
        `follow it: imgsim dataset duplicates ${name} --show`,
      ]);
      return;
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = '';
    const changedAt = changeClock();
    const hasWorkers = cachedFor(10_000, (stage: 'fingerprint' | 'duplicates') => services.scheduler.hasWorkers(stage));
    for (;;) {
      let now: DuplicatePass | undefined;
      try {
        now = await passes.get(name);
      } catch (error) {
        // Redis restarting or a network blip: the connection comes back by itself (two
        // lines on stderr say so) and the wait goes on until --timeout, as run-status --wait.
        if (!isRedisConnectionError(error) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (!now || now.passId !== pass.passId) throw new Error(`the duplicates pass ${pass.passId} of dataset ${name} was replaced while waiting`);
      const hint = TERMINAL_PASS_STATUSES.has(now.status) ? undefined : await staleHint(now, hasWorkers, Date.now(), changedAt(now.updatedAt));
      const line = hint ? `${passLine(now)}  (${hint})` : passLine(now);
      if (!ctx.json && line !== last) process.stderr.write(`${line}\n`);
      last = line;
      if (TERMINAL_PASS_STATUSES.has(now.status)) {
        if (now.status === 'failed') process.exitCode = 1;
        break;
      }
      // Not a usage error (exit 1, not 2): the pass goes on, and --show follows it.
      if (Date.now() > deadline) throw new UserError(`--timeout: the pass ${pass.passId} was not done after ${timeoutSeconds} s (status ${now.status}); imgsim dataset duplicates ${name} --show follows it`, 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await show();
  } finally {
    await services.close();
  }
}
