// Reading input files with a size limit (Node): a regular file larger than the limit is refused
// from its size, before anything is read; a pipe is read until the limit and refused past it; a
// device (/dev/zero, /dev/urandom), socket or directory is refused outright. Nothing reads an
// unbounded amount of memory because a path names something endless. The platform-neutral half
// (the error, the limit, the nesting guard) is src/io/bounded.ts; importing this module installs
// the Node platform (src/platform-node.ts), so every Node module that reads files has it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { formatBytes } from '../budget.ts';
import { BoundedReadError } from './bounded.ts';
import '../platform-node.ts';

export { BoundedReadError, guardNesting, MAX_JSON_BYTES, type ReadProblem } from './bounded.ts';

const CHUNK = 1 << 20;
/** One read call's most bytes (Node refuses reads of 2 GiB and more). */
const MAX_READ = 1 << 30;

/**
 * The bytes of `file`, at most `maxBytes` of them (`what` names the kind of input and the limit
 * in messages, e.g. "JSON input"). Throws `BoundedReadError`: `file not found`, `cannot read
 * (EACCES)`, `not a regular file (a character device)`, or `N bytes, above the limit of M for
 * JSON input` (for a pipe: `more than M ...`).
 */
export function readFileBounded(file: string, maxBytes: number, what: string, limitHint = ''): Uint8Array {
  const limit = Math.min(maxBytes, bufferConstants.MAX_LENGTH);
  const tooLarge = (size: string): BoundedReadError =>
    new BoundedReadError(file, 'too-large', `${size}, above the limit of ${formatBytes(limit)} for ${what}${limitHint}`);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    if (code === 'ENOENT') throw new BoundedReadError(file, 'missing', 'file not found');
    throw new BoundedReadError(file, 'unreadable', `cannot read (${code})`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new BoundedReadError(file, 'unreadable', 'cannot read (EISDIR)');
    const kind = st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : undefined;
    if (kind !== undefined) throw new BoundedReadError(file, 'not-a-file', `not a regular file (${kind})`);
    if (st.isFile() && st.size > limit) throw tooLarge(`${formatBytes(st.size)}${st.size >= 1000 ? ` (${st.size} bytes)` : ''}`);
    // Regular files are read at their size (plus a byte, to notice growth); pipes chunk by chunk.
    let buf = new Uint8Array(st.isFile() ? Math.min(st.size + 1, limit + 1) : Math.min(CHUNK, limit + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > limit) throw tooLarge(`more than ${formatBytes(limit)}`);
        const grown = new Uint8Array(Math.min(buf.length * 2, limit + 1));
        grown.set(buf);
        buf = grown;
      }
      let got: number;
      try {
        got = readSync(fd, buf, n, Math.min(buf.length - n, MAX_READ), null);
      } catch (e) {
        throw new BoundedReadError(file, 'unreadable', `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      if (got === 0) break;
      n += got;
    }
    if (n > limit) throw tooLarge(`more than ${formatBytes(limit)}`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** `readFileBounded` decoded as UTF-8 text. */
export function readTextFileBounded(file: string, maxBytes: number, what: string, limitHint = ''): string {
  return new TextDecoder('utf-8').decode(readFileBounded(file, maxBytes, what, limitHint));
}
