// Where connectome descriptions are found: a path as given, else (like flyvis, which looks in
// its own data folder) a name inside the project's bundled `data/` folder.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of bundled connectome descriptions (data/ in the project). */
export const connectomeDataDir: string = fileURLToPath(new URL('../../data/', import.meta.url));

/**
 * The absolute path of a connectome description: `file` resolved against the working
 * directory if it exists there, else against `connectomeDataDir` if it exists there, else
 * `undefined`.
 */
export function findConnectomeFile(file: string): string | undefined {
  return [resolve(file), resolve(connectomeDataDir, file)].find((p) => existsSync(p));
}
