// Node edge: the `_meta.yaml` of a flyvis results directory (datamate's record of a directory's
// config: JSON text, `{"config": {"type": "NetworkDir", ...}, "status": "done"}`), and what kind
// of directory a path is.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BoundedReadError, guardNesting, MAX_JSON_BYTES, readTextFileBounded } from '../io/read-bounded.ts';
import { ResultsError } from './rules.ts';

export const META_FILE = '_meta.yaml';

/** A directory's `_meta.yaml`: its config (with `type`) and datamate's status. */
export interface ResultsMeta {
  readonly file: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** The config's `type` ('NetworkDir', 'EnsembleDir', ...). */
  readonly type: string;
  readonly status: unknown;
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** The kind of a path: 'missing', 'file', or 'dir'. */
export function pathKind(path: string): 'missing' | 'file' | 'dir' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

/** The names in a directory ([] when it cannot be listed). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The `_meta.yaml` of `dir`, or null when there is none. A directory that does not exist, a
 * meta file that cannot be read or parsed (JSON, or YAML), or one without a `config` mapping
 * with a string `type` throws ResultsError naming the file.
 */
export function readMeta(dir: string): ResultsMeta | null {
  const d = resolve(dir);
  const kind = pathKind(d);
  if (kind === 'missing') throw new ResultsError(d, 'no such directory');
  if (kind === 'file') throw new ResultsError(d, 'is a file, expected a flyvis results directory');
  const file = join(d, META_FILE);
  if (pathKind(file) === 'missing') return null;
  let text: string;
  try {
    text = readTextFileBounded(file, MAX_JSON_BYTES, 'a _meta.yaml');
  } catch (e) {
    if (e instanceof BoundedReadError) throw new ResultsError(file, e.detail);
    throw e;
  }
  let raw: unknown;
  try {
    raw = guardNesting(
      () => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return parseYaml(text) as unknown; // datamate writes JSON; YAML (a superset) is accepted
        }
      },
      () => new ResultsError(file, 'nested too deeply to read'),
    );
  } catch (e) {
    if (e instanceof ResultsError) throw e;
    throw new ResultsError(file, `not valid JSON or YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isRecord(raw) || !isRecord(raw.config)) {
    throw new ResultsError(file, 'expected a mapping with a "config" mapping (datamate\'s _meta.yaml)');
  }
  const type = raw.config.type;
  if (typeof type !== 'string') throw new ResultsError(file, 'config.type: expected a string such as "NetworkDir" or "EnsembleDir"');
  return { file, config: raw.config, type, status: raw.status };
}

/** The meta's type, or null for a directory without (a readable) _meta.yaml; never throws. */
function metaType(dir: string): string | null {
  try {
    return readMeta(dir)?.type ?? null;
  } catch {
    return null;
  }
}

/** Whether `dir` is a flyvis network directory (its _meta.yaml says NetworkDir). Never throws. */
export const isNetworkDir = (dir: string): boolean => metaType(dir) === 'NetworkDir';

/** Whether `dir` is a flyvis ensemble directory (its _meta.yaml says EnsembleDir). Never throws. */
export const isEnsembleDir = (dir: string): boolean => metaType(dir) === 'EnsembleDir';

/** A one-line description of what `dir` holds, for "not a network directory" errors. */
export function describeForeignDir(dir: string): string {
  const names = listDir(dir);
  if (names.length === 0) return 'empty directory, expected a flyvis results directory (with _meta.yaml)';
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, ... (${names.length} entries)` : '');
  return `not a flyvis results directory: no _meta.yaml (holds ${shown})`;
}
