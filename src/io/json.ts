// Reading JSON files with errors that name the file and say what went wrong (missing,
// unreadable, not JSON and where), instead of a bare ENOENT or SyntaxError.
import { readFileSync } from 'node:fs';

/** Why a JSON file could not be read: `missing` (no such file), `unreadable`, or `invalid-json`. */
export type JsonFileProblem = 'missing' | 'unreadable' | 'invalid-json';

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

/**
 * Reads and parses a JSON file. Throws `JsonFileError` naming the file: `file not found`,
 * `cannot read (EISDIR)`, or `not valid JSON (<parser message>)`.
 */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    if (code === 'ENOENT') throw new JsonFileError(file, 'missing', 'file not found');
    throw new JsonFileError(file, 'unreadable', `cannot read (${code})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new JsonFileError(file, 'invalid-json', `not valid JSON (${(e as Error).message})`);
  }
}
