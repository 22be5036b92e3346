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
// One package is bundled: zod. Its package entry loads ~95 module files (every locale of
// its messages among them), which cost a command's flag validation ~0.1 s of module
// resolution at start-up; dist/vendor/zod.js is zod in one file, and every compiled file
// imports it instead of 'zod' (one instance per process: no library we use brings its own).
// Every other import is left as written.
// The web app (web/, served at /) is bundled into dist/web/ by build-web.ts in the same
// staging folder, so it is replaced together with the rest; an install without dev
// dependencies (which the app bundles) builds the rest and says the app was left out.
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { MANIFEST_FILE, manifestText, snapshotSources } from '../../bin/build-state.mjs';
import { buildWeb, describeWebBuild, webBuildBlocker, type WebBuild } from './build-web.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const started = performance.now();
const snapshot = snapshotSources(root);
const entryPoints = snapshot.map(([rel]) => rel).filter((rel) => rel.endsWith('.ts') && !rel.endsWith('.d.ts'));
const dist = path.join(root, 'dist');
const staging = path.join(root, '.tmp', `dist-${process.pid}`); // .tmp/ is ignored by git; same file system as dist/
const VENDOR_ZOD = 'vendor/zod.js';
let web: WebBuild | undefined;
const webBlocker = webBuildBlocker(root);

/** Keep every import as written (file by file, as bundle: false would), except 'zod' → dist/vendor/zod.js. */
const importsAsWritten: Plugin = {
  name: 'imports-as-written',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path !== 'zod') return { path: args.path, external: true };
      const fromDir = path.dirname(path.relative(root, args.importer));
      const rel = path.relative(fromDir, VENDOR_ZOD).split(path.sep).join('/');
      return { path: rel.startsWith('.') ? rel : `./${rel}`, external: true };
    });
  },
};

try {
  const common = { absWorkingDir: root, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' } as const;
  await build({ ...common, entryPoints, outdir: staging, outbase: '.', bundle: true, plugins: [importsAsWritten], sourcemap: 'linked' });
  await build({ ...common, entryPoints: ['zod'], outfile: path.join(staging, VENDOR_ZOD), bundle: true, minify: true });
  if (webBlocker === undefined) web = await buildWeb(root, path.join(staging, 'web'));
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
process.stdout.write(
  `dist/: ${entryPoints.length} files compiled (zod bundled in ${VENDOR_ZOD}), ${web ? `web app in dist/web/ (${describeWebBuild(web)})` : `web app NOT built: ${webBlocker ?? 'unknown reason'}`} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
