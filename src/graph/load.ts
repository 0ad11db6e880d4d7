// Loading a connectome description from a file: read, parse, decode, and fail as a whole
// (nothing half-built) with one error that names the file and lists every problem.
import * as E from 'fp-ts/lib/Either.js';
import { resolve } from 'node:path';
import { JsonFileError, readJsonFile } from '../io/json.ts';
import { decodeConnectomeSpec } from './decode.ts';
import { connectomeSearchDirs, findConnectomeFile } from './paths.ts';
import type { ConnectomeSpec } from './spec.ts';

/**
 * A connectome file that cannot be used: missing, unreadable, not JSON, or not a valid
 * description. `problems` lists each problem (with its path inside the file where it has one);
 * the message names the file and lists them all on one line.
 */
export class ConnectomeError extends Error {
  override name = 'ConnectomeError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    const n = problems.length;
    super(`connectome file ${file}: ${n === 1 ? '' : `${n} problems: `}${problems.join('; ')}`);
  }
}

/**
 * Reads and decodes a connectome description (flyvis's JSON schema). `file` is a path, or (as
 * in flyvis) the name of a description bundled in the project's data/ folder. Throws
 * `ConnectomeError` naming the file for a missing file, invalid JSON, or any decoding problem
 * (all are listed).
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
  const decoded = decodeConnectomeSpec(json);
  if (E.isLeft(decoded)) throw new ConnectomeError(path, decoded.left);
  return decoded.right;
}
