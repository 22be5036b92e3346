// imgsim schedule add|list|remove: scheduled re-indexing on BullMQ job schedulers. The
// ingest worker processes run the schedule queue; a fired schedule enqueues a normal run,
// or (--duplicates) the dataset's duplicates pass.
import type { Command } from 'commander';
import { UsageError, UserError } from '../../shared/errors.js';
import type { Schedules, ScheduleInfo } from '../../shared/queue/schedules.js';
import { addConfigFlags, contextFrom, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { toSourceUri } from '../source-uri.js';
import { baseCommand, subCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';

async function withSchedules<T>(command: Command, fn: (ctx: CommandContext, s: Schedules) => Promise<T>): Promise<T> {
  const ctx = contextFrom(command.optsWithGlobals());
  const [{ assertNoEviction, connectRedis, createRedis, queueErrorListener, RedisWatch }, { SCHEDULE_QUEUE, Schedules }] = await Promise.all([
    import('../../shared/queue/connection.js'),
    import('../../shared/queue/schedules.js'),
  ]);
  const redis = createRedis(ctx.config.redisUrl);
  await connectRedis(redis, ctx.config.redisUrl);
  const watch = new RedisWatch(ctx.config.redisUrl, { logger: ctx.logger }).watch(redis);
  const schedules = new Schedules(redis, ctx.config.queuePrefix);
  schedules.queue.on('error', queueErrorListener(ctx.logger, { queue: SCHEDULE_QUEUE }, 'queue error'));
  try {
    await assertNoEviction(redis, ctx.config.redisUrl);
    return await fn(ctx, schedules);
  } finally {
    await schedules.close();
    watch.close();
    redis.disconnect();
  }
}

function line(s: ScheduleInfo): string {
  const model = s.modelId ? ` --model ${s.modelId}` : '';
  const tz = s.tz ? ` (${s.tz})` : '';
  const what = s.job === 'duplicates' ? `${s.dataset} --duplicates --mode ${s.mode}` : `${s.dataset} --mode ${s.mode}${model}  ${s.source ?? ''}`;
  return `${s.schedule}  "${s.cron}"${tz}  ${what}  next ${s.next ?? '-'}, fired ${s.iterations}×`;
}

function addCommand(): Command {
  const cmd = subCommand('add', 'add or update (same name) a schedule that enqueues a re-index run of a dataset, or its duplicates pass')
    .argument('<name>', 'schedule name (letters, digits, ., _ or -)')
    .addOption(valueOption('-d, --dataset <name>', 'dataset name', { required: true }))
    .addOption(
      valueOption('--source <uri>', 'where the images are (a run; required without --duplicates)', {
        default: 'none: required for a run',
        allowed: 's3://bucket/prefix, file:///absolute/path or a folder path',
      }),
    )
    .option('--duplicates', "enqueue the dataset's duplicates pass instead of a run (imgsim dataset duplicates; --mode missing: images new or changed since the last pass)")
    .addOption(valueOption('--cron <pattern>', 'when: cron pattern, e.g. "0 3 * * *" (03:00 daily); 6 fields = seconds first', { required: true }))
    .addOption(
      valueOption('--mode <mode>', 'missing: embed new/changed images into the live collection; all: build a new collection and swap', { value: 'missing', choices: ['all', 'missing'] }),
    )
    .addOption(
      valueOption('--model <id>', 'model id (in the artefact store) to embed with', { default: "the dataset's current model for missing, a newly trained one for all" }),
    )
    .addOption(valueOption('--tz <zone>', 'IANA time zone of the pattern, e.g. Europe/Paris', { default: "the server's" }))
    .option('--json', 'print the schedule as JSON')
    .addHelpText(
      'after',
      helpAfter([
        'imgsim schedule add nightly --dataset photos --source s3://images/photos/ --cron "0 3 * * *" --mode missing',
        'imgsim schedule add weekly-rebuild --dataset photos --source s3://images/photos/ --cron "0 4 * * 0" --mode all --tz Europe/Paris',
        'imgsim schedule add nightly-duplicates --dataset photos --duplicates --cron "30 3 * * *"',
      ]),
    );
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((name: string, opts: Record<string, unknown>, command: Command) => {
    const duplicates = opts.duplicates === true;
    if (duplicates && (opts.source !== undefined || opts.model !== undefined)) {
      throw new UsageError(`--duplicates schedules the dataset's duplicates pass, which reads its live collection: ${opts.source !== undefined ? '--source' : '--model'} does not apply`);
    }
    if (!duplicates && opts.source === undefined) throw new UsageError("--source is required (where the images are), unless --duplicates schedules the dataset's duplicates pass");
    return withSchedules(command, async (ctx, schedules) => {
      const mode = opts.mode === 'all' ? 'all' : 'missing';
      const when = { cron: String(opts.cron), ...(typeof opts.tz === 'string' ? { tz: opts.tz } : {}) };
      const info = await schedules.upsert(
        duplicates
          ? { schedule: name, job: 'duplicates', dataset: String(opts.dataset), mode, ...when }
          : {
              schedule: name,
              dataset: String(opts.dataset),
              source: toSourceUri(String(opts.source)),
              mode,
              ...(typeof opts.model === 'string' ? { modelId: opts.model } : {}),
              ...when,
            },
      );
      print(ctx, info, [`schedule ${info.schedule} saved; next run ${info.next ?? '-'}`, line(info)]);
    });
  });
}

function listCommand(): Command {
  const cmd = subCommand('list', 'the schedules, with their next fire time')
    .option('--json', 'print JSON: an array of schedules')
    .addHelpText('after', helpAfter(['imgsim schedule list', 'imgsim schedule list --json --redis redis://127.0.0.1:6379']));
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((_opts: Record<string, unknown>, command: Command) =>
    withSchedules(command, async (ctx, schedules) => {
      const all = await schedules.list();
      print(ctx, all, all.length > 0 ? all.map(line) : ['no schedules']);
    }),
  );
}

function removeCommand(): Command {
  const cmd = subCommand('remove', 'remove a schedule and its pending job')
    .argument('<name>', 'schedule name')
    .option('--json', 'print JSON {schedule, removed}')
    .addHelpText('after', helpAfter(['imgsim schedule remove nightly']));
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((name: string, _opts: Record<string, unknown>, command: Command) =>
    withSchedules(command, async (ctx, schedules) => {
      if (!(await schedules.get(name))) throw new UserError(`Schedule "${name}" not found (imgsim schedule list shows them)`);
      const removed = await schedules.remove(name);
      print(ctx, { schedule: name, removed }, [`schedule ${name} removed`]);
    }),
  );
}

export function scheduleCommand(): Command {
  return baseCommand('schedule')
    .addHelpText(
      'after',
      helpAfter(
        ['imgsim schedule add nightly --dataset photos --source s3://images/photos/ --cron "0 3 * * *"', 'imgsim schedule list', 'imgsim schedule remove nightly'],
        ['The ingest workers (imgsim worker ingest) fire the schedules. imgsim schedule <command> --help lists its flags.'],
      ),
    )
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand());
}
