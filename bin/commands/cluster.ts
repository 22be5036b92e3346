// imgsim cluster --index <dir>: the cluster stage (PCA → t-SNE → k-means) on an index folder.
import type { Command } from 'commander';
import { OUTPUT, readIndexManifest } from '../../pipelines/layout.js';
import { UserError } from '../../shared/errors.js';
import { baseCommand } from './catalog.js';
import { addConfigFlags, CLUSTER_SETTINGS, contextFrom } from '../options.js';
import { print } from '../print.js';

export function clusterCommand(): Command {
  const cmd = baseCommand('cluster')
    .requiredOption('-i, --index <dir>', 'index folder (written by run or embed)')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExample:\n  imgsim cluster --index ./out --clusters 8 --perplexity 30');
  addConfigFlags(cmd, CLUSTER_SETTINGS);
  return cmd.action(async (opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const [{ LocalStorage }, { clusterIndex }, { FlatIndex }] = await Promise.all([
      import('../../shared/storage/local.js'),
      import('../../pipelines/cluster.js'),
      import('../../shared/vectors/flat-index.js'),
    ]);
    const storage = new LocalStorage(String(opts.index));
    const manifest = await readIndexManifest(storage);
    const index = await FlatIndex.load(storage);
    const result = await clusterIndex({
      index,
      out: storage,
      modelId: manifest.modelId,
      settings: ctx.config,
      title: storage.root.split('/').pop() ?? 'index',
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    });
    if (!result) throw new UserError(`Clustering needs at least 3 images; the index in ${storage.root} has ${await index.count()}`);
    print(ctx, { k: result.k, silhouette: result.silhouette, images: result.points.length }, [
      `${result.points.length} images in ${result.k} clusters → ${storage.resolveKey(OUTPUT.clusters)}, ${storage.resolveKey(OUTPUT.clusterPlot)}`,
    ]);
  });
}
