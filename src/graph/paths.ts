// Where connectome descriptions are found (Node): a path as given, else (like flyvis, which looks
// in its own data folder) a name inside the project's bundled `data/` folder. The Node platform
// (src/platform-node.ts) gives `findConnectomeFor` to the core's loader (src/graph/load.ts).
// The folder is found from this module's location: src/graph in a clone, dist/graph (or
// dist/cjs, the CommonJS bundle) in the installed package; all three are two levels below it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of bundled connectome descriptions (data/ in the project). */
export const connectomeDataDir: string = fileURLToPath(new URL('../../data/', import.meta.url));

/** Folders searched for a connectome name: $FLYVIS_CONNECTOME_DIR (if set), then data/. */
export function connectomeSearchDirs(): string[] {
  const env = process.env.FLYVIS_CONNECTOME_DIR;
  return [...(env ? [resolve(env)] : []), connectomeDataDir];
}

/**
 * The absolute path of a connectome description: `file` resolved against the working
 * directory if it exists there, else in the first of `connectomeSearchDirs()` that has it, else
 * `undefined`. (flyvis's default 'fib25-fib19_v2.2.json' ships in data/.)
 */
export function findConnectomeFile(file: string): string | undefined {
  const name = CONNECTOME_ALIASES[file] ?? file;
  return [resolve(name), ...connectomeSearchDirs().map((d) => resolve(d, name))].find((p) => existsSync(p));
}

/** flyvis's default connectome description (flyvis's `ConnectomeFromAvgFilters` default file), shipped in data/. */
export const DEFAULT_CONNECTOME_FILE = 'fib25-fib19_v2.2.json';

/** Short names for the bundled descriptions: `demo` is the synthetic demo connectome. */
export const CONNECTOME_ALIASES: Readonly<Record<string, string>> = { demo: 'demo-connectome.json' };

/**
 * The absolute path a connectome name or path stands for: flyvis's default when none is given,
 * an alias (`demo`), else as `findConnectomeFile` finds it (or the path resolved as given, for
 * the caller's "file not found" message).
 */
export function connectomeFileOf(name: string | undefined): string {
  const file = name ?? DEFAULT_CONNECTOME_FILE;
  return findConnectomeFile(file) ?? resolve(CONNECTOME_ALIASES[file] ?? file);
}

/** The Node platform's `findConnectomeFile` hook (src/platform.ts): a file, or why there is none. */
export function findConnectomeFor(file: string, bundled: boolean): { path: string } | { path: undefined; shown: string; detail: string } {
  if (bundled) {
    const path = resolve(connectomeDataDir, file);
    return existsSync(path) ? { path } : { path: undefined, shown: path, detail: 'file not found (a bundled description is missing from data/)' };
  }
  const path = findConnectomeFile(file);
  if (path !== undefined) return { path };
  return {
    path: undefined,
    shown: resolve(file),
    detail: `file not found (nor in ${connectomeSearchDirs().join(', ')}; set FLYVIS_CONNECTOME_DIR to the folder holding flyvis's connectome files)`,
  };
}
