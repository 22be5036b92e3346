// The web app (issue 14): web/src/main.tsx bundled by esbuild into dist/web/ — the server
// serves dist/web/index.html at / and dist/web/assets/* at /assets/. Part of `npm run build`
// (infra/scripts/build.ts calls buildWeb into its staging folder, so dist/ and dist/web/
// change together in one rename); run alone, `node --import tsx infra/scripts/build-web.ts`
// rebuilds dist/web/ only (staged, then renamed over the old one).
//
// Preact with TSX (jsx automatic, jsxImportSource preact) and one hand-written stylesheet
// (web/styles.css, imported by main.tsx: esbuild emits it as the entry's CSS bundle).
// Code splitting: the map page (regl-scatterplot and its WebGL stack, most of the bytes)
// is a dynamic import, a chunk fetched when #/map is first opened. Every output name
// carries a content hash (immutable: the server may cache /assets/ for long); index.html
// is written from web/index.html with the hashed names of the entry script and its CSS.
// Sizes (raw and gzip) are printed so a change that bloats the bundle shows in every build.
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = 'web/src/main.tsx';
const TEMPLATE = 'web/index.html';
/** Browsers the bundle's syntax targets (ES2022 everywhere: top-level await, class fields, ?? and ?.). */
const TARGET = ['chrome100', 'firefox100', 'safari16', 'edge100'];

export interface WebAsset {
  /** Path relative to the output folder, e.g. assets/main-3F2A.js. */
  file: string;
  bytes: number;
  gzip: number;
}

export interface WebBuild {
  /** The entry script and the chunks it imports statically: what the first page load fetches. */
  initial: WebAsset[];
  css: WebAsset | undefined;
  /** Chunks imported dynamically (the map page), largest first. */
  lazy: WebAsset[];
  /** index.html's script (also initial[0]). */
  entry: WebAsset;
}

/** Packages bundled into the app: dev dependencies, absent after `npm ci --omit=dev`. */
const BUNDLED = ['preact', 'regl-scatterplot'];

/**
 * Why the app cannot be built here (its bundled packages are not installed: an install with
 * --omit=dev), or undefined. Such an install still builds the server; / then answers 503.
 */
export function webBuildBlocker(root: string): string | undefined {
  const require = createRequire(path.join(root, 'package.json'));
  const missing = BUNDLED.filter((name) => {
    try {
      require.resolve(`${name}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length > 0 ? `${missing.join(' and ')} not installed (dev dependencies: npm ci without --omit=dev)` : undefined;
}

/** Bundle the app into `outDir` (index.html + assets/); `root` is the repository root. */
export async function buildWeb(root: string, outDir: string): Promise<WebBuild> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [ENTRY],
    outdir: path.join(outDir, 'assets'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'));
  const entryOut = outputs.find(([, o]) => o.entryPoint === ENTRY);
  if (!entryOut) throw new Error(`build-web: esbuild wrote no output for ${ENTRY}`);
  const [entryFile, entryMeta] = entryOut;

  const asset = async (file: string): Promise<WebAsset> => {
    const bytes = await readFile(path.join(root, file));
    return { file: path.relative(outDir, path.join(root, file)).split(path.sep).join('/'), bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  };
  // What the entry loads up front: itself and its static imports, transitively; the rest is lazy.
  const meta = result.metafile.outputs;
  const initialFiles = new Set<string>();
  const visit = (file: string): void => {
    if (initialFiles.has(file)) return;
    initialFiles.add(file);
    for (const imp of meta[file]?.imports ?? []) if (imp.kind === 'import-statement') visit(imp.path);
  };
  visit(entryFile);
  const initial = await Promise.all([...initialFiles].map((file) => asset(file)));
  const entry = initial[0] as WebAsset;
  const css = entryMeta.cssBundle ? await asset(entryMeta.cssBundle) : undefined;
  const lazy = await Promise.all(outputs.filter(([file]) => !initialFiles.has(file) && file !== entryMeta.cssBundle).map(([file]) => asset(file)));
  lazy.sort((a, b) => b.bytes - a.bytes);

  const template = await readFile(path.join(root, TEMPLATE), 'utf8');
  const html = template
    .replace('<!-- imgsim:css -->', css ? `<link rel="stylesheet" href="./${css.file}">` : '')
    .replace('<!-- imgsim:js -->', `<script type="module" src="./${entry.file}"></script>`);
  if (!html.includes(entry.file)) throw new Error(`build-web: ${TEMPLATE} lacks the <!-- imgsim:js --> placeholder`);
  await writeFile(path.join(outDir, 'index.html'), html);
  return { initial, css, lazy, entry };
}

const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;
const sum = (assets: WebAsset[], field: 'bytes' | 'gzip'): number => assets.reduce((s, a) => s + a[field], 0);

/** One line: what the first load fetches and what is loaded later, raw and gzip. */
export function describeWebBuild(web: WebBuild): string {
  const css = web.css ? ` + CSS ${kB(web.css.bytes)} (gzip ${kB(web.css.gzip)})` : '';
  const lazy = web.lazy.map((a) => `${path.basename(a.file).replace(/-[A-Z0-9]+\.js$/, '')} ${kB(a.bytes)} (gzip ${kB(a.gzip)})`).join(', ');
  return `first load JS ${kB(sum(web.initial, 'bytes'))} (gzip ${kB(sum(web.initial, 'gzip'))})${css}; lazy: ${lazy || 'none'}`;
}

// Run alone: rebuild dist/web/ only.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const started = performance.now();
  const staging = path.join(root, '.tmp', `web-${process.pid}`);
  const target = path.join(root, 'dist', 'web');
  try {
    const web = await buildWeb(root, staging);
    await mkdir(path.dirname(target), { recursive: true });
    const old = `${target}.old-${process.pid}`;
    await rename(target, old).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
    await rename(staging, target);
    await rm(old, { recursive: true, force: true });
    process.stdout.write(`dist/web/: ${describeWebBuild(web)} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
