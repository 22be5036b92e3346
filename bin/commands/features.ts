// imgsim features <image> --index <dir>: images sharing ORB features with <image>
// (AE neighbours and, for an index folder, the images sharing the most visual words,
// re-ranked by keypoint matching; or the reference's PCA method), with optional
// side-by-side PNGs of the matched keypoints.
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { DEFAULT_NFEATURES, DEFAULT_WORKING_SIZE, FEATURE_METHODS, WORD_INDEX_ORB, type FeatureMethod } from '../../shared/features/defaults.js';
import type { FeatureSearchResult } from '../../pipelines/features.js';
import type { OrbWordStore } from '../../shared/features/word-store.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { neighbourJson } from '../neighbours.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, positiveInt, SERVICE_SETTINGS } from '../options.js';
import { print } from '../print.js';
import { queryStem } from '../query-files.js';
import { baseCommand } from './catalog.js';

export function methodOf(value: unknown): FeatureMethod {
  if (!FEATURE_METHODS.includes(value as FeatureMethod)) {
    throw new UsageError(`--method must be one of ${FEATURE_METHODS.join(', ')}, got ${JSON.stringify(String(value))}`);
  }
  return value as FeatureMethod;
}

/** --json: the neighbour fields first as search --json has them (bin/neighbours.ts), then the ORB ones. */
const FEATURES_JSON =
  '{query, index, method, fallback?, k, candidates, nfeatures, orbSize, wordIndex?, queryKeypoints, neighbors: [{rank, key, path?, score, aeScore?, wordScore?, goodMatches?, inliers?, homography?, png?}], seconds}';

export function featuresCommand(): Command {
  const cmd = baseCommand('features')
    .addOption(valueOption('-i, --index <dir>', 'index folder (written by run or embed; its images must be in a local folder); this or --dataset', { default: 'none' }))
    .addOption(
      valueOption('-d, --dataset <name>', 'dataset built by the queue-driven pipeline (candidates from Qdrant, images from its source; --redis, --qdrant, --artifacts); this or --index', { default: 'none' }),
    )
    .addOption(valueOption('-k, --k <n>', 'number of results', { value: '5', allowed: wholeNumber(1) }))
    .addOption(
      valueOption(
        '-m, --method <method>',
        'match: AE neighbours (and with --index the images sharing the most ORB visual words) re-ranked by ORB matching (RANSAC inliers); reference: ORB vector vs PCA-reduced AE embeddings (the reference project)',
        {
          value: 'match',
          allowed: `one of ${FEATURE_METHODS.join(', ')}`,
        },
      ),
    )
    .addOption(
      valueOption('--candidates <n>', 'match: AE neighbours re-ranked, and with --index as many images sharing the most visual words (--dataset: AE neighbours only)', {
        value: '50',
        allowed: wholeNumber(1),
      }),
    )
    .addOption(
      valueOption('--nfeatures <n>', 'ORB keypoints per image (reference: vector length n × 32)', {
        default: `${WORD_INDEX_ORB.nfeatures} for match with --index, ${DEFAULT_NFEATURES.match} with --dataset, ${DEFAULT_NFEATURES.reference} for reference`,
        allowed: wholeNumber(1),
      }),
    )
    .addOption(
      valueOption('--orb-size <px>', 'longest side of the image ORB runs on (resized, aspect kept)', {
        default: `${WORD_INDEX_ORB.workingSize} for match with --index, ${DEFAULT_WORKING_SIZE} otherwise`,
        allowed: wholeNumber(32),
      }),
    )
    .option('--exclude-self', 'leave the query out of the results when it is one of the indexed images (--index only)')
    .addOption(valueOption('-o, --out <dir>', 'write one PNG per result: query and result side by side with matched keypoints', { default: 'no PNGs' }))
    .option('--json', `print ${FEATURES_JSON}`)
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim features imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run -k 5',
          'imgsim features imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run --candidates 100 --out /tmp/imgsim-matches --json',
          'imgsim features imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run --method reference --nfeatures 30',
          'imgsim features imgsim-demo/data/blue-circle/0000.png --dataset photos -k 5 --out /tmp/imgsim-matches     # a dataset built by imgsim enqueue',
        ],
        [
          'match with --index: candidates are the AE neighbours and the images sharing the most ORB visual words',
          '(rotated copies and tight crops the AE misses), matched against every indexed image\'s stored ORB',
          `descriptors: built once per index folder (~30 ms an image, with progress) into <index>/orb-words.bin and`,
          'rebuilt when the index or --nfeatures/--orb-size change. --dataset has no word index: AE neighbours only,',
          'their ORB computed from their images at each query.',
          'Scores: match = RANSAC inliers of the fit (--index: an affine fit of word-guided matches; --dataset: a',
          'homography, else good matches after the ratio test); a score under 8 counts as 0; ties by AE score;',
          'reference = cosine in the PCA space.',
          'A query without keypoints (flat colour) falls back to the autoencoder neighbours.',
          'The neighbour fields rank, key, path and score are those of imgsim search --json.',
        ],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, 'maxPixels', ...SERVICE_SETTINGS]);
  return cmd.action(async (image: string, opts: Record<string, unknown>) => {
    const t0 = performance.now();
    const ctx = contextFrom(opts);
    const k = positiveInt('-k', opts.k);
    const method = methodOf(opts.method);
    const nCandidates = positiveInt('--candidates', opts.candidates);
    if ((typeof opts.index === 'string') === (typeof opts.dataset === 'string')) throw new UsageError('features needs exactly one of --index <dir> or --dataset <name>');
    // match on an index folder uses its visual-word index, whose ORB settings are WORD_INDEX_ORB unless given.
    const words = method === 'match' && typeof opts.index === 'string';
    if (opts.excludeSelf === true && typeof opts.dataset === 'string') throw new UsageError('--exclude-self works with --index only (a dataset does not know where the query file came from)');
    const [
      { loadOpenCv },
      { initBackend },
      { FeatureExtractor, featureSettings, imagesOf, indexImages, renderHitPng, searchFeaturesIn },
      { collectionReferenceStore, indexReferenceStore },
      { corruptQueryMessage, keyWithinSource, openIndex, readQuery },
      { indexWordSource, wordStoreOf },
    ] = await Promise.all([
      import('../../shared/features/opencv.js'),
      import('../../shared/model/backend.js'),
      import('../../pipelines/features.js'),
      import('../../pipelines/features-reference.js'),
      import('../../pipelines/search.js'),
      import('../../pipelines/features-words.js'),
    ]);
    const bytes = await readQuery(image);
    await initBackend(ctx.config.backend, ctx.logger);
    const settings = featureSettings(method, {
      words,
      maxPixels: ctx.config.maxPixels,
      ...(opts.nfeatures !== undefined ? { nfeatures: positiveInt('--nfeatures', opts.nfeatures) } : {}),
      ...(opts.orbSize !== undefined ? { workingSize: positiveInt('--orb-size', opts.orbSize, 32) } : {}),
    });
    const { nfeatures } = settings;
    const extractor = new FeatureExtractor(await loadOpenCv(), settings, ctx.logger);
    const onCorruption = (warning: string): void => ctx.logger.warn({ query: image, warning }, corruptQueryMessage(image, warning));
    const common = { query: bytes, queryName: image, method, k, candidates: nCandidates, maxPixels: ctx.config.maxPixels, onCorruption };
    let result: FeatureSearchResult;
    let searched: string;
    let wordIndex: { images: number; withoutKeypoints: number } | undefined;
    if (typeof opts.dataset === 'string') {
      const [{ ModelCache }, { openDataset }, { connectServices }] = await Promise.all([
        import('../../shared/model/cache.js'),
        import('../../shared/runs/open-dataset.js'),
        import('../../shared/services.js'),
      ]);
      const services = await connectServices(ctx.config, ctx.logger);
      try {
        const opened = await openDataset(opts.dataset, { ...services, models: new ModelCache(services.artifacts) });
        const imageOf = imagesOf(await opened.source());
        const referenceStore = collectionReferenceStore(services.artifacts, opened.index);
        result = await searchFeaturesIn({ ...common, index: opened.index, model: opened.model, imageOf, name: `Dataset "${opts.dataset}"`, referenceStore }, extractor, ctx.logger);
        // Read the hits' images while the storage connection is open (for the PNGs).
        for (const hit of result.neighbors) if (typeof hit.image === 'function') hit.image = await hit.image();
      } finally {
        await services.close();
      }
      searched = `dataset ${opts.dataset}`;
    } else {
      const opened = await openIndex(String(opts.index));
      const exclude = opts.excludeSelf === true ? keyWithinSource(opened, image) : undefined;
      const imageOf = indexImages(opened);
      const where = { index: opened.index, model: opened.model, imageOf, name: `The index in ${opened.dir}`, referenceStore: indexReferenceStore(opened) };
      const store = words
        ? async (): Promise<OrbWordStore> => {
            const s = await wordStoreOf(indexWordSource(opened, imageOf, settings), extractor, { logger: ctx.logger, progressBar: ctx.progressBar });
            wordIndex = { images: s.size, withoutKeypoints: s.empty };
            return s;
          }
        : undefined;
      result = await searchFeaturesIn(
        { ...common, ...where, ...(store ? { words: store } : {}), ...(exclude !== undefined ? { excludeKeys: new Set([exclude]) } : {}) },
        extractor,
        ctx.logger,
      );
      searched = opened.dir;
    }
    const pngs: string[] = [];
    if (typeof opts.out === 'string') {
      const out = path.resolve(opts.out);
      await mkdir(out, { recursive: true });
      // Named by the query's path, not its name alone: a later call with another 0000.png never overwrites these.
      const stem = queryStem(image);
      const query = { rgb: await extractor.rgb(bytes), features: result.queryFeatures, label: `query ${path.basename(image)}` };
      for (const [i, hit] of result.neighbors.entries()) {
        const file = path.join(out, `${stem}-${String(i + 1).padStart(2, '0')}-${hit.key.replace(/\.[^./]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
        await writeFile(file, await renderHitPng(query, hit, i + 1, extractor));
        pngs.push(file);
      }
    }
    const neighbors = result.neighbors.map((h, i) => ({
      ...neighbourJson(h, i + 1, typeof h.image === 'string' ? h.image : undefined),
      ...(h.aeScore !== undefined ? { aeScore: h.aeScore } : {}),
      ...(h.wordScore !== undefined ? { wordScore: h.wordScore } : {}),
      ...(h.goodMatches !== undefined ? { goodMatches: h.goodMatches, inliers: h.inliers, homography: h.homography } : {}),
      ...(pngs[i] ? { png: pngs[i] } : {}),
    }));
    const seconds = (performance.now() - t0) / 1000;
    print(
      ctx,
      {
        query: image,
        index: searched,
        method,
        ...(result.fallback ? { fallback: result.fallback } : {}),
        k,
        candidates: nCandidates,
        nfeatures,
        orbSize: settings.workingSize,
        ...(wordIndex ? { wordIndex } : {}),
        queryKeypoints: result.queryKeypoints,
        neighbors,
        seconds,
      },
      [
        `${method}${result.fallback ? ' (fallback: autoencoder search)' : ''}: ${result.queryKeypoints} ORB keypoints in the query${
          wordIndex && !result.fallback ? `; candidates: ${nCandidates} AE neighbours + ${nCandidates} by visual words (${wordIndex.images} images)` : ''
        }`,
        ...neighbors.map((n) => {
          const orb = n.goodMatches !== undefined ? `  ${String(n.goodMatches).padStart(4)} good ${n.homography ? `${String(n.inliers).padStart(4)} inliers` : '  no homography'}` : '';
          const ae = n.aeScore !== undefined ? `  ae ${n.aeScore.toFixed(3)}` : '';
          const w = n.wordScore !== undefined ? `  words ${n.wordScore.toFixed(0).padStart(4)}` : '';
          return `${String(n.rank).padStart(3)}  ${n.score.toFixed(method === 'reference' || result.fallback ? 4 : 0).padStart(6)}${orb}${ae}${w}  ${n.key}`;
        }),
        ...(pngs.length ? [`match images: ${path.dirname(pngs[0] as string)}`] : []),
      ],
    );
  });
}
