// Types of build-state.mjs (plain JavaScript, read by bin/imgsim.js before tsx is loaded).
export type SourceEntry = [path: string, mtimeMs: number, size: number];
export declare const SOURCE_DIRS: readonly string[];
export declare const MANIFEST_FILE: string;
export declare function snapshotSources(root: string): SourceEntry[];
export declare function manifestText(snapshot: readonly SourceEntry[]): string;
export declare function buildIsFresh(root: string): boolean;
