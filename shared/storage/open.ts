// Open a source or artefact store given as a folder path or a URI:
// a folder / file:///abs/path (LocalStorage) or s3://bucket/prefix (S3Storage).
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/index.js';
import { UserError } from '../errors.js';
import { LocalStorage } from './local.js';
import { isS3Uri, openS3Storage, type S3ClientConfig } from './s3/index.js';
import type { Storage } from './types.js';

export interface OpenOptions {
  /** Needed for s3:// URIs. */
  s3?: S3ClientConfig;
  /** Create a missing local folder (artefact stores) instead of refusing it (sources). */
  create?: boolean;
}

/** S3 client settings from the configuration. */
export function s3ConfigFrom(c: Config): S3ClientConfig {
  return {
    ...(c.s3Endpoint ? { endpoint: c.s3Endpoint } : {}),
    region: c.s3Region,
    ...(c.s3AccessKeyId && c.s3SecretAccessKey ? { accessKeyId: c.s3AccessKeyId, secretAccessKey: c.s3SecretAccessKey } : {}),
    forcePathStyle: c.s3ForcePathStyle,
    timeoutMs: c.s3TimeoutMs,
    maxAttempts: c.s3MaxAttempts,
    listPageSize: c.s3ListPageSize,
  };
}

export async function openSource(source: string, options: OpenOptions = {}): Promise<Storage> {
  if (isS3Uri(source)) {
    if (!options.s3) throw new UserError(`S3 source "${source}" needs S3 settings (IMGSIM_S3_ENDPOINT, IMGSIM_S3_REGION, credentials)`);
    return openS3Storage(source, options.s3);
  }
  let folder = source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    if (!source.startsWith('file://')) {
      throw new UserError(`Unsupported source "${source}": use a folder path, file:///absolute/path or s3://bucket/prefix`);
    }
    folder = fileURLToPath(source);
  }
  if (options.create) await mkdir(folder, { recursive: true });
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new UserError(`Source folder not found: ${folder}`);
  }
  if (!info.isDirectory()) throw new UserError(`Source is not a folder: ${folder}`);
  return new LocalStorage(folder);
}
