export type { ObjectInfo, Storage } from './types.js';
export { LocalStorage } from './local.js';
export { openSource } from './open.js';
