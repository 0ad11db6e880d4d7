// Loading a connectome description from a file: read, parse, decode, and fail as a whole
// (nothing half-built) with one error that names the file and lists every problem.
import * as E from 'fp-ts/lib/Either.js';
import { resolve } from 'node:path';
import { JsonFileError, readJsonFile, tooDeepDetail } from '../io/json.ts';
import { guardNesting } from '../io/read-bounded.ts';
import { decodeConnectomeSpec } from './decode.ts';
import { connectomeSearchDirs, findConnectomeFile } from './paths.ts';
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
 * Reads and decodes a connectome description (flyvis's JSON schema). `file` is a path, or (as
 * in flyvis) the name of a description bundled in the project's data/ folder. Throws
 * `ConnectomeError` naming the file for a missing file, a file above the JSON size limit (256
 * MB) or not a regular file, invalid JSON, too deep nesting, or any decoding problem (all are
 * listed).
 */
export function loadConnectomeSpec(file: string): ConnectomeSpec {
  const path = findConnectomeFile(file);
  if (path === undefined) {
    throw new ConnectomeError(resolve(file), [`file not found (nor in ${connectomeSearchDirs().join(', ')}; set FLYVIS_CONNECTOME_DIR to the folder holding flyvis's connectome files)`]);
  }
  let json: unknown;
  try {
    json = readJsonFile(path);
  } catch (e) {
    if (e instanceof JsonFileError) {
      throw new ConnectomeError(path, [e.detail]);
    }
    throw e;
  }
  const decoded = guardNesting(
    () => decodeConnectomeSpec(json),
    () => new ConnectomeError(path, [tooDeepDetail]),
  );
  if (E.isLeft(decoded)) throw new ConnectomeError(path, decoded.left);
  return decoded.right;
}
