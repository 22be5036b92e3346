// imgsim schedule add|list|remove: scheduled re-indexing on BullMQ job schedulers. The
// ingest worker processes run the schedule queue; a fired schedule enqueues a normal run.
import { Command, Option } from 'commander';
import { UserError } from '../../shared/errors.js';
import type { Schedules, ScheduleInfo } from '../../shared/queue/schedules.js';
import { addConfigFlags, contextFrom, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { toSourceUri } from '../source-uri.js';
import { baseCommand } from './catalog.js';

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
  return `${s.schedule}  "${s.cron}"${tz}  ${s.dataset} --mode ${s.mode}${model}  ${s.source}  next ${s.next ?? '-'}, fired ${s.iterations}×`;
}

function addCommand(): Command {
  const cmd = new Command('add')
    .description('add or update (same name) a schedule that enqueues a re-index run of a dataset')
    .argument('<name>', 'schedule name (letters, digits, ., _ or -)')
    .requiredOption('-d, --dataset <name>', 'dataset name')
    .requiredOption('--source <uri>', 's3://bucket/prefix, file:///absolute/path or a folder path')
    .requiredOption('--cron <pattern>', 'when: cron pattern, e.g. "0 3 * * *" (03:00 daily); 6 fields = seconds first')
    .addOption(
      new Option('--mode <mode>', 'missing: embed new/changed images into the live collection; all: build a new collection and swap').choices(['all', 'missing']).default('missing'),
    )
    .option('--model <id>', 'model to embed with (default: the dataset\'s current model for missing, a newly trained one for all)')
    .option('--tz <zone>', 'IANA time zone of the pattern (default: the server\'s)')
    .option('--json', 'print the schedule as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  imgsim schedule add nightly --dataset photos --source s3://images/photos/ --cron "0 3 * * *" --mode missing\n  imgsim schedule add weekly-rebuild --dataset photos --source s3://images/photos/ --cron "0 4 * * 0" --mode all',
    );
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((name: string, opts: Record<string, unknown>, command: Command) =>
    withSchedules(command, async (ctx, schedules) => {
      const info = await schedules.upsert({
        schedule: name,
        dataset: String(opts.dataset),
        source: toSourceUri(String(opts.source)),
        mode: opts.mode === 'all' ? 'all' : 'missing',
        cron: String(opts.cron),
        ...(typeof opts.model === 'string' ? { modelId: opts.model } : {}),
        ...(typeof opts.tz === 'string' ? { tz: opts.tz } : {}),
      });
      print(ctx, info, [`schedule ${info.schedule} saved; next run ${info.next ?? '-'}`, line(info)]);
    }),
  );
}

function listCommand(): Command {
  const cmd = new Command('list').description('the schedules, with their next fire time').option('--json', 'print JSON');
  addConfigFlags(cmd, ['redisUrl']);
  return cmd.action((_opts: Record<string, unknown>, command: Command) =>
    withSchedules(command, async (ctx, schedules) => {
      const all = await schedules.list();
      print(ctx, all, all.length > 0 ? all.map(line) : ['no schedules']);
    }),
  );
}

function removeCommand(): Command {
  const cmd = new Command('remove').description('remove a schedule and its pending job').argument('<name>', 'schedule name').option('--json', 'print JSON');
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
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand());
}
