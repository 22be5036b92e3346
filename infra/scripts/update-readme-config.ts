// Rewrite the README's configuration table from the config schema (npm run docs:config);
// test/unit/config/load.test.ts fails when they disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { describeSettings } from '../../shared/config/index.js';
const r = readFileSync('README.md', 'utf8');
const start = r.indexOf('## Configuration');
const end = r.indexOf('## Development');
writeFileSync('README.md', `${r.slice(0, start)}## Configuration\n\nFlags override environment variables, which override defaults. Secrets (S3 keys, the\nQdrant API key) are never printed or logged.\n\n${describeSettings()}\n\n${r.slice(end)}`);
