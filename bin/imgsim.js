#!/usr/bin/env node
// The `imgsim` command. Runs the compiled build (dist/: `npm run build`, which `npm ci`
// runs as prepare) when it was built from the sources as they are now (build-state.mjs);
// otherwise the TypeScript sources through tsx, which is correct but starts several times
// slower (a hint says so on a terminal). Never a stale build.
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from './build-state.mjs';

// Node ≥ 22.1 keeps the compiled code of the modules it loads on disk (in os.tmpdir()), so
// later starts skip parsing them; Node 20 has no such cache.
module.enableCompileCache?.();

if (buildIsFresh(fileURLToPath(new URL('..', import.meta.url)))) {
  await import('../dist/bin/imgsim.js');
} else {
  if (process.stderr.isTTY) process.stderr.write('imgsim: dist/ is missing or older than the sources; running them through tsx (slower start). `npm run build` compiles them.\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('./imgsim.ts');
}
