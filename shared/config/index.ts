export { loadConfig, describeSettings, type ConfigOverrides } from './load.js';
export { settings, type Config, type SettingName } from './schema.js';
