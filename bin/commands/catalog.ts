// The imgsim commands: name, description and arguments (what `imgsim --help` lists), and
// where each command's module is. Start-up cost is what a command line is judged by:
// `imgsim --help` and `--version` build the list from this file alone (commander, no
// zod, TensorFlow.js, OpenCV, sharp, AWS SDK, BullMQ or Fastify); `imgsim <command>`
// loads that one command's module, which validates its flags before it imports the
// heavy modules its action needs (bin/commands/*.ts import them inside the action).
import { Command } from 'commander';
import { STAGES } from '../../shared/jobs/stages.js';

interface CommandSpec {
  description: string;
  /** [name as usage shows it, description]. */
  args: ReadonlyArray<readonly [string, string]>;
  load(): Promise<Command>;
}

const spec = (description: string, args: CommandSpec['args'], load: CommandSpec['load']): CommandSpec => ({ description, args, load });

/** In the order of `imgsim --help`. */
export const CATALOG = {
  run: spec(
    'ingest → train → embed → index → cluster a folder of images, writing everything under --out',
    [['<folder>', 'folder of images (searched recursively), or file:///absolute/path']],
    async () => (await import('./run.js')).runCommand(),
  ),
  train: spec(
    'train the autoencoder on a folder; writes <out>/model/ (encoder, decoder, meta.json, preview.png)',
    [['<folder>', 'folder of images']],
    async () => (await import('./train.js')).trainCommand(),
  ),
  embed: spec(
    'embed a folder with a trained model; writes embeddings.npy, ids.json and index.json under --out',
    [['<folder>', 'folder of images']],
    async () => (await import('./embed.js')).embedCommand(),
  ),
  cluster: spec('cluster the embeddings of an index folder; writes clusters.json and clusters.png there, or to --out', [], async () => (await import('./cluster.js')).clusterCommand()),
  search: spec(
    'find the images most similar to each query image in a local index folder (--index) or a dataset in Qdrant (--dataset)',
    [['<images...>', 'query image files and/or folders of them (searched recursively)']],
    async () => (await import('./search.js')).searchCommand(),
  ),
  features: spec(
    'find images sharing ORB keypoint features with <image> in a local index folder (--index) or a dataset in Qdrant (--dataset)',
    [['<image>', 'query image file']],
    async () => (await import('./features.js')).featuresCommand(),
  ),
  duplicates: spec(
    'groups of duplicates and near-duplicates (exact, perceptual, ORB-verified, learned) in a folder (<folder>) or an index folder (--index), with a contact sheet per group',
    [['[folder]', 'folder of images (searched recursively); or --index <dir>']],
    async () => (await import('./duplicates.js')).duplicatesCommand(),
  ),
  eval: spec(
    'train and embed a labelled folder (class = immediate sub-folder) and report precision@10 of the embedding and of raw pixels',
    [['<folder>', 'labelled folder: <folder>/<class>/<image>']],
    async () => (await import('./eval.js')).evalCommand(),
  ),
  'eval-features': spec(
    'near-duplicate recall@k of AE search vs the ORB reference method vs ORB match re-ranking, on duplicates generated from <folder>',
    [['<folder>', 'folder of images (the originals)']],
    async () => (await import('./eval-features.js')).evalFeaturesCommand(),
  ),
  'eval-duplicates': spec(
    'pair precision and recall of imgsim duplicates per tier and per kind of edit, on edited copies generated from <folder>, with retrieval recall@k and the time per 1,000 images',
    [['<folder>', 'folder of images (the originals)']],
    async () => (await import('./eval-duplicates.js')).evalDuplicatesCommand(),
  ),
  demo: spec('generate a small labelled synthetic dataset, run the pipeline on it, print precision@10', [], async () => (await import('./demo.js')).demoCommand()),
  apply: spec(
    'apply a trained model (denoise, colorize, superres or reconstruct) to images; writes one PNG per input and preview.png under --out',
    [['<images...>', 'image files and/or folders (searched recursively)']],
    async () => (await import('./apply.js')).applyCommand(),
  ),
  worker: spec(
    `run one worker process pulling jobs of a stage from Redis (${STAGES.join(', ')})`,
    [['<stage>', STAGES.join('|')]],
    async () => (await import('./worker.js')).workerCommand(),
  ),
  enqueue: spec(
    'enqueue a bulk dataset job (a run): ingest → [train] → embed → index → cluster by the workers',
    [['<source>', 's3://bucket/prefix, file:///absolute/path or a folder path']],
    async () => (await import('./enqueue.js')).enqueueCommand(),
  ),
  runs: spec('list recent runs, newest first', [], async () => (await import('./runs.js')).runsCommand()),
  'run-status': spec(
    'progress of a run: counts, throughput, ETA and the items that failed with their reasons',
    [['<id>', 'run id (printed by enqueue)']],
    async () => (await import('./runs.js')).runStatusCommand(),
  ),
  'retry-failed': spec("embed and index a run's failed items again", [['<id>', 'run id']], async () => (await import('./runs.js')).retryFailedCommand()),
  serve: spec(
    'serve the HTTP API (search, runs, datasets), Bull Board at /admin/queues, /metrics and /openapi.json',
    [],
    async () => (await import('./serve.js')).serveCommand(),
  ),
  schedule: spec(
    'scheduled re-indexing: runs enqueued on a cron pattern (processed by the ingest workers)',
    [],
    async () => (await import('./schedule.js')).scheduleCommand(),
  ),
  dataset: spec('datasets of the queue-driven pipeline: list, show, rollback', [], async () => (await import('./dataset.js')).datasetCommand()),
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof CATALOG;

export const COMMAND_NAMES = Object.keys(CATALOG) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(CATALOG, name);
}

/**
 * The help style of every command (bin/help.ts): an option's description already says its
 * default, environment variable and accepted values, so commander's own "(default: "10")"
 * and "(choices: …)" are not added.
 */
export function helpStyle(cmd: Command): Command {
  return cmd.configureHelp({ optionDescription: (option) => option.description });
}

/** The command with its catalog description and arguments; its module adds options and the action. */
export function baseCommand(name: CommandName): Command {
  const s: CommandSpec = CATALOG[name];
  const cmd = helpStyle(new Command(name).description(s.description));
  for (const [arg, doc] of s.args) cmd.argument(arg, doc);
  return cmd;
}

/** A sub-command (dataset list, schedule add…) in the same help style. */
export function subCommand(name: string, description: string): Command {
  return helpStyle(new Command(name).description(description));
}
