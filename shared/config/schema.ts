// The one configuration schema: every setting has an environment variable, most a CLI
// flag, a documented default and a zod type; `loadConfig` (load.ts) parses it once. The
// table is written in two parts, pipeline-settings.ts and service-settings.ts, joined here
// in the order of the README's configuration table (npm run docs:config).
import type { z } from 'zod';
import { PIPELINE_SETTINGS } from './pipeline-settings.js';
import { SERVICE_SETTINGS } from './service-settings.js';

export type { Setting } from './setting.js';

export const settings = { ...PIPELINE_SETTINGS, ...SERVICE_SETTINGS };

export type SettingName = keyof typeof settings;

export type Config = Readonly<{ [K in SettingName]: z.output<(typeof settings)[K]['schema']> }>;
