// imgsim dataset list|show|rollback|duplicates: the datasets of the queue-driven pipeline,
// the Qdrant collections kept for each, pointing a dataset back at the previous one, and
// its duplicates pass (dataset-duplicates.ts).
import type { Command } from 'commander';
import type { ReindexDeps } from '../../pipelines/distributed/reindex.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, contextFrom, type CommandContext, type SettingFlags } from '../options.js';
import { print } from '../print.js';
import { baseCommand, subCommand } from './catalog.js';
import { datasetDuplicatesCommand } from './dataset-duplicates.js';

/** What the dataset commands read: the dataset records in Redis, the collections and aliases in Qdrant. */
const DATASET_SETTINGS: SettingFlags = ['redisUrl', 'qdrantUrl'];

async function withDeps<T>(command: Command, fn: (ctx: CommandContext, deps: ReindexDeps) => Promise<T>): Promise<T> {
  const ctx = contextFrom(command.optsWithGlobals());
  const [{ connectServices }, { CollectionHistory }] = await Promise.all([import('../../shared/services.js'), import('../../shared/runs/history.js')]);
  const services = await connectServices(ctx.config, ctx.logger);
  try {
    return await fn(ctx, { ...services, history: new CollectionHistory(services.redis, ctx.config.queuePrefix) });
  } finally {
    await services.close();
  }
}

function listCommand(): Command {
  const cmd = subCommand('list', 'registered datasets: model, live collection, source')
    .option('--json', 'print JSON: an array of {name, modelId, alias, aliasTarget, source, …}')
    .addHelpText('after', helpAfter(['imgsim dataset list', 'imgsim dataset list --json --qdrant http://127.0.0.1:6333']));
  addConfigFlags(cmd, DATASET_SETTINGS);
  return cmd.action((_opts: Record<string, unknown>, command: Command) =>
    withDeps(command, async (ctx, deps) => {
      const records = await deps.runs.listDatasets();
      const rows = await Promise.all(records.map(async (r) => ({ ...r, aliasTarget: (await deps.qdrant.getAliasTarget(r.alias)) ?? null })));
      print(
        ctx,
        rows,
        rows.length > 0 ? rows.map((r) => `${r.name}  model ${r.modelId}  live ${r.aliasTarget ?? '(no alias)'}  ${r.source}`) : ['no datasets yet'],
      );
    }),
  );
}

function showCommand(): Command {
  const cmd = subCommand('show', 'one dataset: model, alias, and the collections kept for rollback')
    .argument('<name>', 'dataset name')
    .option('--json', 'print JSON')
    .addHelpText('after', helpAfter(['imgsim dataset show photos', 'imgsim dataset show photos --json']));
  addConfigFlags(cmd, DATASET_SETTINGS);
  return cmd.action((name: string, _opts: Record<string, unknown>, command: Command) =>
    withDeps(command, async (ctx, deps) => {
      const { describeDataset } = await import('../../pipelines/distributed/reindex.js');
      const d = await describeDataset(name, deps);
      print(ctx, d, [
        `${d.name}  ${d.source}`,
        `model ${d.modelId}, alias ${d.alias} → ${d.aliasTarget ?? '(none)'} (updated ${d.updatedAt})`,
        'collections (most recently live first):',
        ...d.collections.map(
          (c) => `  ${c.live ? '*' : ' '} ${c.collection}  model ${c.modelId}  ${c.points !== undefined ? `${c.points} points` : 'MISSING'}  built ${c.builtAt}${c.runId ? ` by run ${c.runId}` : ''}`,
        ),
      ]);
    }),
  );
}

function rollbackCommand(): Command {
  const cmd = subCommand('rollback', 'point the dataset back at the previous collection (one atomic alias swap)')
    .argument('<name>', 'dataset name')
    .addOption(valueOption('--to <collection>', 'a kept collection (imgsim dataset show lists them)', { default: 'the previous one' }))
    .option('--json', 'print JSON')
    .addHelpText('after', helpAfter(['imgsim dataset rollback photos', 'imgsim dataset rollback photos --to photos-cae-64-20261128t101500-s42 --json']));
  addConfigFlags(cmd, DATASET_SETTINGS);
  return cmd.action((name: string, opts: Record<string, unknown>, command: Command) =>
    withDeps(command, async (ctx, deps) => {
      const { rollbackDataset } = await import('../../pipelines/distributed/reindex.js');
      const r = await rollbackDataset(name, typeof opts.to === 'string' ? { to: opts.to } : {}, deps);
      print(ctx, r, [`dataset ${r.dataset}: ${r.from ?? '(none)'} → ${r.to} (model ${r.modelId})`]);
    }),
  );
}

export function datasetCommand(): Command {
  return baseCommand('dataset')
    .addHelpText(
      'after',
      helpAfter(['imgsim dataset list', 'imgsim dataset show photos', 'imgsim dataset rollback photos', 'imgsim dataset duplicates photos --wait'], ['imgsim dataset <command> --help lists its flags.']),
    )
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(rollbackCommand())
    .addCommand(datasetDuplicatesCommand());
}
