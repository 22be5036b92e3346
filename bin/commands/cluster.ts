// imgsim cluster --index <dir> [--out <dir>]: the cluster stage (PCA → t-SNE → k-means) on an
// index folder; clusters.json and clusters.png go to --out (default: the index folder, whose
// earlier map is then replaced, and the log says so).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { OUTPUT, readIndexManifest } from '../../pipelines/layout.js';
import { checkOutputFolder } from '../../pipelines/output-folder.js';
import { UserError } from '../../shared/errors.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, CLUSTER_SETTINGS, contextFrom } from '../options.js';
import { print } from '../print.js';

export function clusterCommand(): Command {
  const cmd = baseCommand('cluster')
    .addOption(valueOption('-i, --index <dir>', 'index folder (written by run or embed)', { required: true }))
    .addOption(
      valueOption(
        '-o, --out <dir>',
        `folder for ${OUTPUT.clusters} and ${OUTPUT.clusterPlot}; the index folder's map is replaced when this is the index folder (search reads cluster labels from there only); refused if it holds images or another command's outputs`,
        { default: 'the index folder' },
      ),
    )
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      helpAfter([
        'imgsim cluster --index imgsim-demo/run --clusters 8 --perplexity 30 --out /tmp/imgsim-k8',
        'imgsim cluster --index imgsim-demo/run --clusters 12 --out /tmp/imgsim-k12     # keeps imgsim-demo/run/clusters.json as it is',
        'imgsim cluster --index imgsim-demo/run     # auto k; replaces imgsim-demo/run/clusters.json and clusters.png',
      ]),
    );
  addConfigFlags(cmd, CLUSTER_SETTINGS);
  return cmd.action(async (opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const { LocalStorage } = await import('../../shared/storage/local.js');
    const storage = new LocalStorage(String(opts.index));
    const manifest = await readIndexManifest(storage);
    const outDir = typeof opts.out === 'string' ? opts.out : storage.root;
    // --out naming the index folder itself is the default; any other folder must hold no other kind of output (nor another index).
    if (typeof opts.out === 'string' && path.resolve(opts.out) !== storage.root) await checkOutputFolder(opts.out, ['clusters']);
    const out = new LocalStorage(outDir);
    const existing: string[] = [];
    for (const f of [OUTPUT.clusters, OUTPUT.clusterPlot]) if ((await stat(out.resolveKey(f)).catch(() => undefined))?.isFile() === true) existing.push(f);
    const [{ clusterIndex }, { FlatIndex }] = await Promise.all([import('../../pipelines/cluster.js'), import('../../shared/vectors/flat-index.js')]);
    const index = await FlatIndex.load(storage);
    if (existing.length > 0) {
      const hint = typeof opts.out === 'string' ? '' : ' (--out <dir> writes them elsewhere)';
      ctx.logger.info({ replaced: existing.map((f) => out.resolveKey(f)) }, `cluster: replacing ${existing.join(' and ')} in ${out.root}${hint}`);
    }
    const result = await clusterIndex({
      index,
      out,
      modelId: manifest.modelId,
      settings: ctx.config,
      title: path.basename(storage.root) || 'index',
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    });
    if (!result) throw new UserError(`Clustering needs at least 3 images; the index in ${storage.root} has ${await index.count()}`);
    print(ctx, { k: result.k, silhouette: result.silhouette, images: result.points.length, out: out.root }, [
      `${result.points.length} images in ${result.k} clusters → ${out.resolveKey(OUTPUT.clusters)}, ${out.resolveKey(OUTPUT.clusterPlot)}`,
    ]);
  });
}
