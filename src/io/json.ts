// Reading JSON files with errors that name the file and say what went wrong (missing,
// unreadable, too large, not JSON and where, nested too deeply), instead of a bare ENOENT,
// SyntaxError or stack overflow. Files are read with a size limit (MAX_JSON_BYTES).
import '../budget-env.ts';
import { BoundedReadError, guardNesting, MAX_JSON_BYTES, readTextFileBounded } from './read-bounded.ts';

export { MAX_JSON_BYTES } from './read-bounded.ts';

/**
 * Why a JSON file could not be read: `missing` (no such file), `unreadable` (a directory, no
 * permission, a device), `too-large` (above MAX_JSON_BYTES, or a pipe that runs past it),
 * `invalid-json`, or `too-deep` (nesting too deep to parse).
 */
export type JsonFileProblem = 'missing' | 'unreadable' | 'invalid-json' | 'too-large' | 'too-deep';

export class JsonFileError extends Error {
  override name = 'JsonFileError';
  constructor(
    readonly file: string,
    readonly problem: JsonFileProblem,
    /** What went wrong, without the file name. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The message for a document nested too deeply to parse or walk (`where` names the file). */
export const tooDeepDetail = 'nested too deeply to read (JSON nesting exhausted the call stack)';

/**
 * Reads and parses a JSON file of at most `maxBytes` (default MAX_JSON_BYTES, 256 MB). Throws
 * `JsonFileError` naming the file: `file not found`, `cannot read (EISDIR)`, `not a regular
 * file (a character device)`, `300 MB (...), above the limit of 256 MB for JSON input`, `not
 * valid JSON (<parser message>)` or `nested too deeply to read ...`.
 */
export function readJsonFile(file: string, maxBytes: number = MAX_JSON_BYTES): unknown {
  let text: string;
  try {
    text = readTextFileBounded(file, maxBytes, 'JSON input');
  } catch (e) {
    if (!(e instanceof BoundedReadError)) throw e;
    const problem = e.problem === 'missing' ? 'missing' : e.problem === 'too-large' ? 'too-large' : 'unreadable';
    throw new JsonFileError(file, problem, e.detail);
  }
  try {
    return guardNesting(
      () => JSON.parse(text) as unknown,
      () => new JsonFileError(file, 'too-deep', tooDeepDetail),
    );
  } catch (e) {
    if (e instanceof JsonFileError) throw e;
    throw new JsonFileError(file, 'invalid-json', `not valid JSON (${(e as Error).message})`);
  }
}
