// Feature search (ORB) of the local server, as `imgsim features --index` runs it: for
// method match, the AE neighbours and the images sharing the most visual words of the
// index folder's word store (orb-words.bin, pipelines/features-words.ts), re-ranked by ORB
// matching; for method reference, the reference project's space. OpenCV is loaded once,
// one extractor per method (their ORB settings differ), and the word store is opened or
// built once — started when the server starts (`warm`), so the first request does not pay
// for it (~30 ms an image; 3,000 photos ≈ 1.5 min on 2 cores, then read from the file).
import type { Logger } from '../../../shared/logger.js';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import type { OrbWordStore } from '../../../shared/features/word-store.js';
import { FeatureExtractor, featureSettings, indexImages, searchFeaturesIn, type FeatureMethod, type FeatureSearchResult } from '../../../pipelines/features.js';
import { indexReferenceStore } from '../../../pipelines/features-reference.js';
import { indexWordSource, wordStoreOf } from '../../../pipelines/features-words.js';
import type { LocalDataset } from './local-dataset.js';

export interface LocalFeatureQuery {
  bytes: Buffer;
  name: string;
  /** An indexed key to leave out of the answer (a query by key). */
  exclude?: string;
  k: number;
  candidates: number;
  method: FeatureMethod;
  nfeatures?: number;
  onCorruption?: (warning: string) => void;
}

export class LocalFeatures {
  private readonly extractors = new Map<string, Promise<FeatureExtractor>>();
  private words: Promise<OrbWordStore> | undefined;

  constructor(
    private readonly ds: LocalDataset,
    private readonly o: { maxPixels: number; logger: Logger },
  ) {}

  /** The bytes of an indexed image, from the source folder. */
  imageOf(key: string): Promise<Buffer> {
    return this.ds.source.get(key);
  }

  /** Open (or build) the word store now, in the background; a failure is logged and retried by the next request. */
  warm(): void {
    this.wordStore().catch((error: unknown) => this.o.logger.warn({ err: error }, 'the visual-word index could not be built; feature search will try again'));
  }

  async search(q: LocalFeatureQuery): Promise<FeatureSearchResult> {
    const words = q.method === 'match' && q.nfeatures === undefined;
    const extractor = await this.extractor(q.method, q.nfeatures, words);
    const { opened } = this.ds;
    return searchFeaturesIn(
      {
        index: opened.index,
        model: opened.model,
        imageOf: indexImages(opened),
        name: `The index in ${this.ds.dir}`,
        query: q.bytes,
        queryName: q.name,
        method: q.method,
        k: q.k,
        candidates: q.candidates,
        maxPixels: this.o.maxPixels,
        referenceStore: indexReferenceStore(opened),
        ...(words ? { words: () => this.wordStore() } : {}),
        ...(q.exclude !== undefined ? { excludeKeys: new Set([q.exclude]) } : {}),
        ...(q.onCorruption ? { onCorruption: q.onCorruption } : {}),
      },
      extractor,
      this.o.logger,
    );
  }

  private wordStore(): Promise<OrbWordStore> {
    if (!this.words) {
      const { opened } = this.ds;
      const attempt = this.extractor('match', undefined, true).then((extractor) =>
        wordStoreOf(indexWordSource(opened, indexImages(opened), extractor.settings), extractor, { logger: this.o.logger }),
      );
      this.words = attempt;
      attempt.catch(() => {
        if (this.words === attempt) this.words = undefined;
      });
    }
    return this.words;
  }

  private extractor(method: FeatureMethod, nfeatures: number | undefined, words: boolean): Promise<FeatureExtractor> {
    const id = `${method}:${nfeatures ?? ''}:${words}`;
    let e = this.extractors.get(id);
    if (!e) {
      const settings = featureSettings(method, { words, maxPixels: this.o.maxPixels, ...(nfeatures !== undefined ? { nfeatures } : {}) });
      e = loadOpenCv().then((cv) => new FeatureExtractor(cv, settings, this.o.logger));
      this.extractors.set(id, e);
    }
    return e;
  }
}
