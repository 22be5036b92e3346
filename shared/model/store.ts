// Models as artefacts in a Storage: `<prefix>encoder/`, `<prefix>decoder/` (tfjs
// model.json + weights.bin) and `<prefix>meta.json`. Custom IO handlers, because
// tfjs's file:// handler exists only in the native tfjs-node packages.
import * as tf from '@tensorflow/tfjs';
import { errorMessage, UserError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { modelMetaSchema, type ModelMeta } from './meta.js';

export const META_FILE = 'meta.json';

export async function saveLayersModel(model: tf.LayersModel, storage: Storage, prefix: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData;
      const bytes = weights === undefined ? new Uint8Array() : new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(weights) ? weights : [weights]));
      await storage.put(`${prefix}weights.bin`, bytes);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await storage.put(`${prefix}model.json`, JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    }),
  );
}

export async function loadLayersModel(storage: Storage, prefix: string): Promise<tf.LayersModel> {
  const where = `${storage.uri}/${prefix}`;
  try {
    const json = JSON.parse((await storage.get(`${prefix}model.json`)).toString('utf8')) as {
      modelTopology: object;
      weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
    };
    const weights = await storage.get(`${prefix}weights.bin`);
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
        weightData,
      }),
    );
  } catch (error) {
    throw new UserError(`Cannot load the model in ${where}: ${errorMessage(error)}`);
  }
}

export async function saveMeta(storage: Storage, prefix: string, meta: ModelMeta): Promise<void> {
  await storage.put(`${prefix}${META_FILE}`, JSON.stringify(meta, null, 2));
}

export async function loadMeta(storage: Storage, prefix: string): Promise<ModelMeta> {
  const where = `${storage.uri}/${prefix}${META_FILE}`;
  let raw: unknown;
  try {
    raw = JSON.parse((await storage.get(`${prefix}${META_FILE}`)).toString('utf8'));
  } catch (error) {
    throw new UserError(`Cannot read model metadata ${where}: ${errorMessage(error)}`);
  }
  const parsed = modelMetaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`Invalid model metadata ${where}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'}`);
  }
  return parsed.data;
}

export interface LoadedModel {
  meta: ModelMeta;
  encoder: tf.LayersModel;
}

/** The encoder and meta of a model saved under `prefix` (what embedding needs). */
export async function loadEncoder(storage: Storage, prefix: string): Promise<LoadedModel> {
  const meta = await loadMeta(storage, prefix);
  const encoder = await loadLayersModel(storage, `${prefix}encoder/`);
  return { meta, encoder };
}
