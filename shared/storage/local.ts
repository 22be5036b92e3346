// Storage on a local folder. Listing is recursive and sorted by key; keys cannot
// escape the root, neither through `..` nor through symbolic links pointing outside.
// A listing leaves out a symbolic link whose target is outside the root (or that
// cannot be followed) and tells `onSkipped`, so the ingest lists it in failures.json.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';
import { checkRange, ObjectRangeError, type ListOptions, type ObjectInfo, type SkippedEntry, type Storage } from './types.js';

export class LocalStorage implements Storage {
  readonly root: string;
  readonly uri: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  async *list(prefix = '', options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const realRoot = await realpath(this.root);
    const start = prefix ? this.resolveKey(prefix.replace(/\/+$/, '')) : this.root;
    yield* this.walk(start, realRoot, options.onSkipped);
  }

  private async *walk(dir: string, realRoot: string, onSkipped: ((entry: SkippedEntry) => void) | undefined): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && dir !== this.root) return;
      throw error;
    }
    const names = entries.map((e) => e.name).sort(compareKeys);
    for (const name of names) {
      const full = path.join(dir, name);
      let real: string;
      try {
        real = await realpath(full);
      } catch (error) {
        // A dangling symlink (or one in a loop): nothing to read. Any other failure (EACCES,
        // EMFILE, EIO) is not the file's own fault: thrown, so the listing is retried.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ELOOP') throw error;
        const missing = code === 'ENOENT';
        onSkipped?.({ key: this.keyOf(full), reason: 'unreadable', message: missing ? 'symbolic link to a missing file' : 'symbolic link that cannot be followed' });
        continue;
      }
      if (!isInside(realRoot, real)) {
        // Never read: a source folder gives access to its own files only.
        onSkipped?.({ key: this.keyOf(full), reason: 'outside-root', message: `symbolic link to ${real}, outside the folder ${realRoot}` });
        continue;
      }
      const info = await stat(real);
      if (info.isDirectory()) {
        yield* this.walk(full, realRoot, onSkipped);
      } else if (info.isFile()) {
        yield { key: this.keyOf(full), size: info.size, etag: localEtag(info.size, info.mtimeMs) };
      }
    }
  }

  async get(key: string): Promise<Buffer> {
    return readFile(await this.realPathOf(key));
  }

  /** Bytes start … end − 1 by one positioned read (the file is never read whole). */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    checkRange(`${this.root}/${key}`, start, end);
    const handle = await open(await this.realPathOf(key), 'r');
    try {
      const out = Buffer.allocUnsafe(end - start);
      let got = 0;
      while (got < out.length) {
        const { bytesRead } = await handle.read(out, got, out.length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < out.length) {
        const { size } = await handle.stat();
        throw new ObjectRangeError(`${this.root}/${key}: ${end - start} bytes from offset ${start} asked, the file has ${size}`);
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const full = this.resolveKey(key);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, data);
  }

  async delete(key: string): Promise<void> {
    await rm(this.resolveKey(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.resolveKey(key));
      return true;
    } catch {
      return false;
    }
  }

  async versionOf(key: string): Promise<string | undefined> {
    const info = await stat(this.resolveKey(key)).catch(() => undefined);
    return info?.isFile() ? localEtag(info.size, info.mtimeMs) : undefined;
  }

  /** The real path of an existing key (ENOENT when missing); refuses one that resolves outside the root. */
  private async realPathOf(key: string): Promise<string> {
    const real = await realpath(this.resolveKey(key));
    if (!isInside(await realpath(this.root), real)) throw new UserError(`Key "${key}" resolves outside ${this.root}`);
    return real;
  }

  /** Absolute path of a key; refuses keys that would leave the root. */
  resolveKey(key: string): string {
    if (key.split(/[\\/]/).includes('..') || path.isAbsolute(key)) {
      throw new UserError(`Invalid key "${key}": keys are relative paths without ".."`);
    }
    return path.join(this.root, key);
  }

  private keyOf(full: string): string {
    return path.relative(this.root, full).split(path.sep).join('/');
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Byte-wise order (not locale order) so the listing is the same on every machine. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function localEtag(size: number, mtimeMs: number): string {
  return createHash('sha1').update(`${size}:${Math.floor(mtimeMs)}`).digest('hex').slice(0, 16);
}
