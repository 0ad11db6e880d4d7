// Where connectome descriptions are found: a path as given, else (like flyvis, which looks in
// its own data folder) a name inside the project's bundled `data/` folder.
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
  return [resolve(file), ...connectomeSearchDirs().map((d) => resolve(d, file))].find((p) => existsSync(p));
}
