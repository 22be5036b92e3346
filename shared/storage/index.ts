export type { ObjectInfo, Storage } from './types.js';
export { ObjectRangeError } from './types.js';
export { LocalStorage } from './local.js';
export { openSource, s3ConfigFrom, type OpenOptions } from './open.js';
