// Models as artefacts in a Storage: `<prefix>encoder/`, `<prefix>decoder/` (tfjs
// model.json + weights.bin) and `<prefix>meta.json`. Custom IO handlers, because
// tfjs's file:// handler exists only in the native tfjs-node packages.
import * as tf from '@tensorflow/tfjs';
import { errorMessage, fileProblem, UserError } from '../errors.js';
import { locationOf, unreadableFolderFile, type FolderKind } from '../storage/location.js';
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
  let reading = 'model.json';
  try {
    const json = JSON.parse((await storage.get(`${prefix}model.json`)).toString('utf8')) as {
      modelTopology: object;
      weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
    };
    reading = 'weights.bin';
    const weights = await storage.get(`${prefix}weights.bin`);
    reading = '';
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
        weightData,
      }),
    );
  } catch (error) {
    const problem = reading !== '' ? `${reading} ${fileProblem(error)}` : `its layers do not load (${errorMessage(error)})`;
    throw new UserError(`The model in ${locationOf(storage, prefix)} is incomplete or damaged: ${problem}`, 2, { cause: error });
  }
}

export async function saveMeta(storage: Storage, prefix: string, meta: ModelMeta): Promise<void> {
  await storage.put(`${prefix}${META_FILE}`, JSON.stringify(meta, null, 2));
}

/** A model folder, as messages name it. */
export const MODEL_FOLDER: FolderKind = { noun: 'model', folder: 'a model folder', writtenBy: 'imgsim train or imgsim run writes one in <out>/model' };

export async function loadMeta(storage: Storage, prefix: string): Promise<ModelMeta> {
  let raw: unknown;
  try {
    raw = JSON.parse((await storage.get(`${prefix}${META_FILE}`)).toString('utf8'));
  } catch (error) {
    let message = await unreadableFolderFile(storage, prefix, META_FILE, error, MODEL_FOLDER);
    // A run or train output folder given for its model/ sub-folder: say which folder to give.
    if (/ is not a model folder: /.test(message) && (await storage.exists(`${prefix}model/${META_FILE}`).catch(() => false))) {
      message = `${locationOf(storage, prefix)} is not a model folder, its model/ sub-folder is: give ${locationOf(storage, `${prefix}model`)}`;
    }
    throw new UserError(message, 2, { cause: error });
  }
  const parsed = modelMetaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${locationOf(storage, `${prefix}${META_FILE}`)} is damaged or from another version of imgsim: ${issue ? `field "${issue.path.join('.')}" is missing or invalid` : 'invalid'}`, 2, {
      cause: parsed.error,
    });
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
