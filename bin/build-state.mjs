// Whether dist/ holds a build of the sources as they are now. The build
// (infra/scripts/build.ts: `npm run build`, which `npm ci` runs as prepare) records every
// source folder and .ts file it compiled with its mtime and size; the build is fresh while
// each is unchanged (adding, removing or renaming a file changes its folder's mtime).
// Plain JavaScript: bin/imgsim.js reads it before it knows whether it may use tsx.
// Checking costs ~240 stat calls (a few ms).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The folders compiled to dist/ (same layout under dist/). */
export const SOURCE_DIRS = ['bin', 'shared', 'pipelines', 'workers'];
/** Where the build records what it compiled, relative to the repository root. */
export const MANIFEST_FILE = 'dist/build-manifest.json';
const VERSION = 1;

/** Every source folder and .ts file under SOURCE_DIRS: [path relative to root, mtimeMs, size (0 for a folder)], sorted. */
export function snapshotSources(root) {
  const entries = [];
  for (const dir of SOURCE_DIRS) {
    const names = [dir, ...readdirSync(path.join(root, dir), { recursive: true }).map((rel) => path.join(dir, rel))];
    for (const rel of names) {
      const st = statSync(path.join(root, rel));
      if (st.isDirectory()) entries.push([rel, st.mtimeMs, 0]);
      else if (rel.endsWith('.ts')) entries.push([rel, st.mtimeMs, st.size]);
    }
  }
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The manifest's JSON text for a snapshot taken before compiling. */
export function manifestText(snapshot) {
  return `${JSON.stringify({ version: VERSION, sources: snapshot })}\n`;
}

/** True when dist/ was built from the sources as they are now; false when stale, absent or unreadable. */
export function buildIsFresh(root) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(root, MANIFEST_FILE), 'utf8'));
  } catch {
    return false;
  }
  if (manifest?.version !== VERSION || !Array.isArray(manifest.sources) || manifest.sources.length === 0) return false;
  for (const [rel, mtimeMs, size] of manifest.sources) {
    let st;
    try {
      st = statSync(path.join(root, rel));
    } catch {
      return false;
    }
    if (st.mtimeMs !== mtimeMs || (!st.isDirectory() && st.size !== size)) return false;
  }
  return true;
}
