// imgsim cluster --index <dir>: PCA → t-SNE → k-means on an index folder's embeddings.
import { Command } from 'commander';
import { LocalStorage } from '../../shared/storage/local.js';
import { FlatIndex } from '../../shared/vectors/flat-index.js';
import { clusterEmbeddings, writeClusters } from '../../pipelines/cluster.js';
import { OUTPUT } from '../../pipelines/layout.js';
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
    const c = ctx.config;
    const storage = new LocalStorage(String(opts.index));
    const index = await FlatIndex.load(storage);
    const keys = [...index.allKeys()];
    const result = clusterEmbeddings(
      { keys, dim: index.dim, vectors: index.matrix() },
      { pcaComponents: c.pcaComponents, perplexity: c.perplexity, iterations: c.tsneIterations, clusters: c.clusters, seed: c.seed, logger: ctx.logger, progressBar: ctx.progressBar },
    );
    await writeClusters(storage, result, `${keys.length} images, ${result.k} clusters`);
    print(ctx, { k: result.k, silhouette: result.silhouette, images: keys.length }, [
      `${keys.length} images in ${result.k} clusters → ${storage.resolveKey(OUTPUT.clusters)}, ${storage.resolveKey(OUTPUT.clusterPlot)}`,
    ]);
  });
}
