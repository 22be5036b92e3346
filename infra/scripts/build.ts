// npm run build (and npm ci's prepare): compile the TypeScript of bin/, shared/,
// pipelines/ and workers/ to JavaScript in dist/, file by file in the same layout, so
// that `imgsim` starts without transpiling (bin/imgsim.js runs dist/ while it is fresh).
// esbuild (tsx's own transpiler, so the output is what the tests run through tsx) strips
// the types without checking them (`npm run check` does): ~1 s, against ~20 s for tsc.
// Every relative import names a .js file already, so dist/ runs as it is: worker threads
// and child processes (shared/spawn-module.ts) load their .js siblings, and nothing
// under those folders reads a non-TypeScript file relative to its own location.
// The manifest of what was compiled (bin/build-state.mjs) is taken before compiling and
// written last; the new dist/ replaces the old one in one rename.
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MANIFEST_FILE, manifestText, snapshotSources } from '../../bin/build-state.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const started = performance.now();
const snapshot = snapshotSources(root);
const entryPoints = snapshot.map(([rel]) => rel).filter((rel) => rel.endsWith('.ts') && !rel.endsWith('.d.ts'));
const dist = path.join(root, 'dist');
const staging = path.join(root, '.tmp', `dist-${process.pid}`); // .tmp/ is ignored by git; same file system as dist/
try {
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir: staging,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  await writeFile(path.join(staging, path.relative('dist', MANIFEST_FILE)), manifestText(snapshot));
  // The old build is moved aside, not deleted first: an imgsim already running from dist/
  // that imports a command module lazily finds one build or the other, never none.
  const old = `${dist}.old-${process.pid}`;
  await rename(dist, old).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
  await rename(staging, dist);
  await rm(old, { recursive: true, force: true });
} finally {
  await rm(staging, { recursive: true, force: true });
}
process.stdout.write(`dist/: ${entryPoints.length} files compiled in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
