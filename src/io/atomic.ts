// Atomic file output: write to a temporary name, rename over the target on success, so a
// failure never leaves a partial file behind. Only regular files are ever renamed over: an
// existing character device or named pipe (/dev/null, a FIFO) is written in place, a
// directory or anything else is refused. Failures are reported as one line naming the file
// the caller asked for (never the temporary name): `OutputPathError` for a bad path (exit 2
// in the command line), `OutputWriteError` for a failure of the write itself (a full disk).
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** A path that cannot be written as asked (missing folder, a directory, no permission, empty name): bad input. */
export class OutputPathError extends Error {
  override name = 'OutputPathError';
}

/** Writing failed for a reason other than the path (no space left, I/O error): a runtime failure. */
export class OutputWriteError extends Error {
  override name = 'OutputWriteError';
}

/** Error codes that mean the path itself is wrong (bad input) rather than the write failing. */
const PATH_CODES: Readonly<Record<string, string>> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a component of the path is a file, not a folder',
  EISDIR: 'is a directory, expected a file name',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EINVAL: 'invalid file name',
  EXDEV: 'cannot move a file across file systems',
  EBUSY: 'the file is busy',
  ETXTBSY: 'the file is busy',
  ENXIO: 'no reader on the named pipe',
};

const WRITE_CODES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EPIPE: 'the reader of the pipe went away',
};

/**
 * The error to report when writing `file` failed with `e`: the message names `file` (the
 * path as the user gave it, with `label` such as `--out` in front), never a temporary name.
 */
export function outputError(file: string, e: unknown, label?: string): Error {
  if (e instanceof OutputPathError || e instanceof OutputWriteError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const where = label === undefined ? file : `${label}: ${file}`;
  if (code !== undefined && code in PATH_CODES) return new OutputPathError(`${where}: cannot write (${PATH_CODES[code]}, ${code})`);
  if (code !== undefined && code in WRITE_CODES) return new OutputWriteError(`${where}: cannot write (${WRITE_CODES[code]}, ${code})`);
  return new OutputWriteError(`${where}: cannot write (${code ?? (e instanceof Error ? e.message : String(e))})`);
}

/** What kind of file a Stats describes, in words. */
export function fileKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a named pipe';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Non-regular files that are written in place instead of renamed over. */
export const writableInPlace = (s: Stats): boolean => s.isCharacterDevice() || s.isFIFO();

const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Temporary names: `.<name>.<host>-<pid>-<random>.tmp` (host and pid let stale ones be recognised). */
const TEMP_PATTERN = /^\.(.+)\.([0-9a-f]{8})-(\d+)-[0-9a-z]+\.tmp$/;

/** A fresh temporary path in `dir` for a file that will be called `name`. */
export function tempPath(dir: string, name: string): string {
  return join(dir, `.${name}.${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** True when a process with this pid runs on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files for `name` in `dir` left behind by processes on this host that no
 * longer run (a SIGKILL between writing and renaming). Returns the paths removed.
 */
export function removeStaleTemps(dir: string, name: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const m = TEMP_PATTERN.exec(entry);
    if (m === null || m[1] !== name || m[2] !== HOST_TAG) continue;
    const pid = Number(m[3]);
    if (pid === process.pid || pidAlive(pid)) continue;
    rmSync(join(dir, entry), { force: true });
    removed.push(join(dir, entry));
  }
  return removed;
}

// Temporary files of this process that exist right now: removed if the process exits early
// (process.exit from a signal handler, an uncaught error).
const liveTemps = new Set<string>();
let exitHookInstalled = false;

/** Registers a temporary file to be removed if the process exits before it is renamed. */
export function trackTemp(file: string): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const f of liveTemps) rmSync(f, { force: true });
    });
  }
  liveTemps.add(file);
  return () => void liveTemps.delete(file);
}

/** Writes all of `data` to an open file descriptor. */
export function writeAll(fd: number, data: Uint8Array, position?: number): void {
  let done = 0;
  while (done < data.length) {
    const n = writeSync(fd, data, done, data.length - done, position === undefined ? null : position + done);
    done += n;
  }
}

/** Writes `data` into an existing non-regular file (device, pipe) as it is. */
export function writeInPlace(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(file, 'w');
  try {
    writeAll(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `file` atomically: a regular file (or a new one) gets a temporary sibling renamed over
 * it; a character device or named pipe is written in place; a directory, socket or block device
 * is refused. A symbolic link is followed (the file it points to is replaced). Errors name `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  if (file === '') throw new OutputPathError(`expected a file name, got ''`);
  let target = resolve(file);
  let existing: Stats | undefined;
  try {
    existing = statSync(target, { throwIfNoEntry: false });
    if (existing !== undefined && lstatSync(target).isSymbolicLink()) {
      // Replace the file the link points to, not the link.
      target = realpathSync(target);
    }
  } catch (e) {
    throw outputError(file, e);
  }
  if (existing !== undefined && !existing.isFile()) {
    if (writableInPlace(existing)) {
      try {
        writeInPlace(target, data);
      } catch (e) {
        throw outputError(file, e);
      }
      return;
    }
    throw new OutputPathError(`${file}: is ${fileKind(existing)}, expected a file name`);
  }
  const tmp = tempPath(dirname(target), basename(target));
  const untrack = trackTemp(tmp);
  try {
    const fd = openSync(tmp, 'wx', existing === undefined ? 0o666 : existing.mode & 0o7777);
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw outputError(file, e);
  } finally {
    untrack();
  }
}
