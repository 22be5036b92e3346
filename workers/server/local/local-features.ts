// Feature search (ORB) of the local server, as `imgsim features --index` runs it: for
// method match, the AE neighbours and the images sharing the most visual words of the
// index folder's word store (orb-words.bin, pipelines/features-words.ts), re-ranked by ORB
// matching; for method reference, the reference project's space. OpenCV is loaded once,
// one extractor per setting (the word store's ORB settings differ from the defaults).
//
// The word store is opened — or built once, ~20 ms an image — in the background when the
// server starts (`prepare`), with its inverted word index, so that no request pays for it.
// Until it is ready a match request does not wait (a minute for 3,000 photos on 2 cores):
// it is answered as the queued server answers, the AE candidates re-ranked by ORB, with
// `wordIndexPending` set (the route turns it into the answer's warning).
//
// Everything here runs on the server's one thread (OpenCV is WebAssembly). Measured on a
// 3,000-photo index (docs/web.md "Local index"): a match request holds the event loop
// ~50–60 ms; reading the 160 MB store and building its word index at start ~1.5–2 s, once.
import type { Logger } from '../../../shared/logger.js';
import { errorMessage } from '../../../shared/errors.js';
import { loadOpenCv } from '../../../shared/features/opencv.js';
import type { OrbWordStore, StoredPrint } from '../../../shared/features/word-store.js';
import { FeatureExtractor, featureSettings, indexImages, searchFeaturesIn, type FeatureMethod, type FeatureSearchResult } from '../../../pipelines/features.js';
import { indexReferenceStore } from '../../../pipelines/features-reference.js';
import { indexWordSource, wordStoreOf } from '../../../pipelines/features-words.js';
import { sourcePresent, type LocalDataset } from './local-dataset.js';

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

export interface LocalFeatureResult extends FeatureSearchResult {
  /** A match request answered without the visual-word candidates: the word store was not ready yet. */
  wordIndexPending?: boolean;
}

/** A print with no keypoints: asking the store for its candidates builds the store's inverted index (done once, lazily, by OrbWordStore). */
const EMPTY_PRINT: StoredPrint = { width: 0, height: 0, points: new Float32Array(0), descriptors: new Uint32Array(0), entries: new Uint32Array(0) };

export class LocalFeatures {
  private readonly extractors = new Map<string, Promise<FeatureExtractor>>();
  private store: OrbWordStore | undefined;
  private opening: Promise<void> | undefined;

  constructor(
    private readonly ds: LocalDataset,
    private readonly o: { maxPixels: number; logger: Logger },
  ) {}

  /** The bytes of an indexed image, from the source folder (rejects with ENOENT when it is gone). */
  imageOf(key: string): Promise<Buffer> {
    return this.ds.source.get(key);
  }

  /** Whether the source folder is there (feature search decodes its images). */
  sourcePresent(): Promise<boolean> {
    return sourcePresent(this.ds);
  }

  /** Whether match requests use the visual-word index now. */
  get wordIndexReady(): boolean {
    return this.store !== undefined;
  }

  /**
   * Open (or build) the word store and its inverted index, once; resolves when ready or
   * failed (a failure is logged, and the next match request starts another try). Not
   * started while the source folder is missing: every image would fail and an empty store
   * would be kept.
   */
  prepare(): Promise<void> {
    if (this.store) return Promise.resolve();
    if (!this.opening) {
      const started = performance.now();
      const attempt = (async () => {
        if (!(await this.sourcePresent())) throw new Error(`the source folder ${this.ds.source.root} is missing`);
        const extractor = await this.extractor('match', undefined, true);
        const { opened } = this.ds;
        const store = await wordStoreOf(indexWordSource(opened, indexImages(opened), extractor.settings), extractor, { logger: this.o.logger });
        store.candidates(EMPTY_PRINT, 1);
        this.store = store;
        this.o.logger.info(
          { images: store.size, seconds: Math.round(performance.now() - started) / 1000 },
          `feature search: the visual-word index of ${store.size} images is ready`,
        );
      })();
      this.opening = attempt.catch((error: unknown) => {
        this.opening = undefined;
        this.o.logger.warn({ error: errorMessage(error) }, `feature search: no visual-word index (${errorMessage(error)}); match uses the autoencoder's candidates only until a later request builds it`);
      });
    }
    return this.opening;
  }

  async search(q: LocalFeatureQuery): Promise<LocalFeatureResult> {
    let words = q.method === 'match' && q.nfeatures === undefined;
    const pending = words && !this.store;
    if (pending) {
      void this.prepare();
      words = false;
    }
    const extractor = await this.extractor(q.method, q.nfeatures, words);
    const { opened } = this.ds;
    const store = this.store;
    const result = await searchFeaturesIn(
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
        ...(words && store ? { words: () => Promise.resolve(store) } : {}),
        ...(q.exclude !== undefined ? { excludeKeys: new Set([q.exclude]) } : {}),
        ...(q.onCorruption ? { onCorruption: q.onCorruption } : {}),
      },
      extractor,
      this.o.logger,
    );
    return pending ? { ...result, wordIndexPending: true } : result;
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
