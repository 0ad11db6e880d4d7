// Reading input files with a size limit, platform-neutral half: the limit, the error and the
// nesting guard, and `readFileBounded` through the platform's file hook (src/platform.ts). The
// Node implementation (refusing devices, reading pipes only up to the limit) is
// src/io/read-bounded.ts; without a file system every read is refused as 'unreadable' with a
// message saying what to pass instead, so callers' errors still name the file.
import { missingHook, platform } from '../platform.ts';

/** JSON inputs (connectomes, checkpoints, configs) may be at most this many bytes: 256 MB. */
export const MAX_JSON_BYTES = 256e6;

/** The detail of a JSON document nested too deeply to parse or walk (as src/io/json.ts words it). */
export const TOO_DEEP_JSON_DETAIL = 'nested too deeply to read (JSON nesting exhausted the call stack)';

/** Why a file could not be read within its limit. */
export type ReadProblem = 'missing' | 'unreadable' | 'not-a-file' | 'too-large';

/** A file that could not be read within its limit; `detail` says why, without the file name. */
export class BoundedReadError extends Error {
  override name = 'BoundedReadError';
  constructor(
    readonly file: string,
    readonly problem: ReadProblem,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/**
 * The bytes of `file`, at most `maxBytes` of them (`what` names the kind of input and the limit
 * in messages, e.g. "JSON input"), read by the platform (src/io/read-bounded.ts in Node). Throws
 * `BoundedReadError`.
 */
export function readFileBounded(file: string, maxBytes: number, what: string, limitHint = ''): Uint8Array {
  const read = platform().readFile;
  if (!read) throw new BoundedReadError(file, 'unreadable', `cannot read: ${missingHook('reading a file', 'pass the parsed contents or bytes instead of a path')}`);
  return read(file, maxBytes, what, limitHint);
}

/** `readFileBounded` decoded as UTF-8 text. */
export function readTextFileBounded(file: string, maxBytes: number, what: string, limitHint = ''): string {
  return new TextDecoder('utf-8').decode(readFileBounded(file, maxBytes, what, limitHint));
}

/** Writes `data` to `file` atomically through the platform (src/io/atomic.ts in Node). */
export function writeFileThroughPlatform(file: string, data: string | Uint8Array): void {
  const write = platform().writeFileAtomic;
  if (!write) throw new Error(`${file}: cannot write: ${missingHook('writing a file', 'serialize to a string or bytes (e.g. checkpointToJSON, encodeNpy) and store it yourself')}`);
  write(file, data);
}

/**
 * Runs `parse` (JSON.parse, a YAML parser, a decoder) and turns the "Maximum call stack size
 * exceeded" RangeError of a deeply nested document into `onTooDeep()`'s error.
 */
export function guardNesting<T>(parse: () => T, onTooDeep: () => Error): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw onTooDeep();
    throw e;
  }
}
