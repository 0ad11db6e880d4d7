// Loading a connectome description by name: read, parse, decode, and fail as a whole (nothing
// half-built) with one error that names the file and lists every problem. Platform-neutral: a
// name is looked up first among descriptions registered in memory
// (`registerConnectomeDescription`, e.g. a JSON a browser fetched), then through the platform's
// file hook (src/platform.ts; in Node src/graph/paths.ts: the working directory,
// $FLYVIS_CONNECTOME_DIR, then the bundled data/ folder).
import * as E from 'fp-ts/lib/Either.js';
import { BoundedReadError, guardNesting, MAX_JSON_BYTES, readTextFileBounded, TOO_DEEP_JSON_DETAIL } from '../io/bounded.ts';
import { missingHook, platform } from '../platform.ts';
import { decodeConnectomeSpec } from './decode.ts';
import type { ConnectomeSpec } from './spec.ts';

/** The message lists at most this many problems, then says how many more there are. */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * A connectome file that cannot be used: missing, unreadable, too large, not JSON, or not a
 * valid description. `problems` lists each problem (with its path inside the file where it has
 * one); the message names the file and lists them on one line (the first MAX_LISTED_PROBLEMS,
 * then `... and N more`).
 */
export class ConnectomeError extends Error {
  override name = 'ConnectomeError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    const n = problems.length;
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
    const more = n > MAX_LISTED_PROBLEMS ? `; ... and ${n - MAX_LISTED_PROBLEMS} more` : '';
    super(`connectome file ${file}: ${n === 1 ? '' : `${n} problems: `}${listed}${more}`);
  }
}

/**
 * Decodes a parsed connectome description (flyvis's JSON schema); `name` names it in the
 * `ConnectomeError` that lists every problem.
 */
export function connectomeSpecFromJson(json: unknown, name = 'connectome'): ConnectomeSpec {
  const decoded = guardNesting(
    () => decodeConnectomeSpec(json),
    () => new ConnectomeError(name, [TOO_DEEP_JSON_DETAIL]),
  );
  if (E.isLeft(decoded)) throw new ConnectomeError(name, decoded.left);
  return decoded.right;
}

const registered = new Map<string, ConnectomeSpec>();

/**
 * Makes a description known by name (e.g. 'fib25-fib19_v2.2.json', fetched by a browser), for
 * `loadConnectomeSpec`, `ConnectomeFromAvgFilters(name)` and network configs naming it
 * (`{ type: 'ConnectomeFromAvgFilters', file: name }`). `json` is the parsed file (or its text);
 * it is decoded now, and a `ConnectomeError` naming `name` lists its problems. A registered
 * name is found before any file of that name.
 */
export function registerConnectomeDescription(name: string, json: unknown): ConnectomeSpec {
  const value = typeof json === 'string' ? parseJson(name, json) : json;
  const spec = connectomeSpecFromJson(value, name);
  registered.set(name, spec);
  return spec;
}

function parseJson(name: string, text: string): unknown {
  try {
    return guardNesting(
      () => JSON.parse(text) as unknown,
      () => new ConnectomeError(name, [TOO_DEEP_JSON_DETAIL]),
    );
  } catch (e) {
    if (e instanceof ConnectomeError) throw e;
    throw new ConnectomeError(name, [`not valid JSON (${(e as Error).message})`]);
  }
}

/**
 * Reads and decodes a connectome description (flyvis's JSON schema). `file` is a registered
 * name, a path, or (as in flyvis) the name of a description bundled in the project's data/
 * folder (`bundled`: only there). Throws `ConnectomeError` naming the file for a missing file, a
 * file above the JSON size limit (256 MB) or not a regular file, invalid JSON, too deep
 * nesting, or any decoding problem (all are listed).
 */
export function loadConnectomeSpec(file: string, options: { readonly bundled?: boolean } = {}): ConnectomeSpec {
  const known = registered.get(file);
  if (known !== undefined) return known;
  const find = platform().findConnectomeFile;
  if (!find) {
    throw new ConnectomeError(file, [
      `not registered (registerConnectomeDescription(name, json) makes a description known by name); ${missingHook('reading a connectome file', 'pass the parsed description to registerConnectomeDescription or connectomeSpecFromJson')}`,
    ]);
  }
  const found = find(file, options.bundled === true);
  if (found.path === undefined) throw new ConnectomeError(found.shown, [found.detail]);
  const path = found.path;
  let text: string;
  try {
    text = readTextFileBounded(path, MAX_JSON_BYTES, 'JSON input');
  } catch (e) {
    if (e instanceof BoundedReadError) throw new ConnectomeError(path, [e.detail]);
    throw e;
  }
  return connectomeSpecFromJson(parseJson(path, text), path);
}
