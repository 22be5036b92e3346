// Encoders loaded from the artefact store, kept per model id in a process (a run's
// hundreds of embed jobs, or the server's uploaded queries, all use the same model).
import type { LoadedModel } from './store.js';
import { loadEncoder } from './store.js';
import type { Storage } from '../storage/types.js';
import { artifactKeys } from '../runs/naming.js';

export class ModelCache {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  constructor(
    private readonly artifacts: Storage,
    private readonly capacity = 2,
  ) {}

  get(modelId: string): Promise<LoadedModel> {
    let entry = this.loaded.get(modelId);
    if (!entry) {
      entry = loadEncoder(this.artifacts, artifactKeys.model(modelId));
      void entry.catch(() => this.loaded.delete(modelId));
      this.loaded.set(modelId, entry);
      while (this.loaded.size > this.capacity) {
        const [oldest, model] = this.loaded.entries().next().value as [string, Promise<LoadedModel>];
        this.loaded.delete(oldest);
        void model.then((m) => m.encoder.dispose(), () => undefined);
      }
    }
    return entry;
  }
}
