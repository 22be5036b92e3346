// imgsim cluster --index <dir>: the cluster stage (PCA → t-SNE → k-means) on an index folder.
import { Command } from 'commander';
import { LocalStorage } from '../../shared/storage/local.js';
import { clusterIndex } from '../../pipelines/cluster.js';
import { OUTPUT, readIndexManifest } from '../../pipelines/layout.js';
import { FlatIndex } from '../../shared/vectors/flat-index.js';
import { UserError } from '../../shared/errors.js';
import { addConfigFlags, CLUSTER_SETTINGS, contextFrom } from '../options.js';
import { print } from '../print.js';

export function clusterCommand(): Command {
  const cmd = new Command('cluster')
    .description('cluster the embeddings of an index folder; writes clusters.json and clusters.png there')
    .requiredOption('-i, --index <dir>', 'index folder (written by run or embed)')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExample:\n  imgsim cluster --index ./out --clusters 8 --perplexity 30');
  addConfigFlags(cmd, CLUSTER_SETTINGS);
  return cmd.action(async (opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
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
