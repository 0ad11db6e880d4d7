// Advisory locks on output paths, so two flyvis processes never write the same file at once.
//
// A lock is a small JSON file {pid, host, started, command, path} created with O_EXCL in one
// lock folder ($FLYVIS_LOCK_DIR, default <tmpdir>/flyvis-ts-locks-<uid>), named by a hash of
// the output's canonical path (symbolic links resolved, so two spellings of one file share a
// lock). Keeping locks out of the output's folder means a killed process leaves nothing beside
// its outputs, and a folder that does not exist yet can be locked without creating it. A lock
// whose process no longer runs on this host is stale and taken over; locks are released on
// exit (including process.exit from a signal handler).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { readTextFileBounded } from './read-bounded.ts';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputPathError, pidAlive, writeAll } from './atomic.ts';

/** Another process holds the lock on an output: bad input (choose another output, or wait). */
export class OutputLockedError extends OutputPathError {
  override name = 'OutputLockedError';
}

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly command: string;
  readonly path: string;
}

/** The folder holding lock files. */
export function lockDir(): string {
  const env = process.env.FLYVIS_LOCK_DIR;
  if (env !== undefined && env !== '') return env;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `flyvis-ts-locks-${uid}`);
}

/** The lock file for a canonical output path. */
export function lockPath(canonical: string): string {
  return join(lockDir(), `${createHash('sha256').update(canonical).digest('hex').slice(0, 40)}.lock`);
}

const held = new Set<string>();
let exitHookInstalled = false;
const started = new Date().toISOString();

function readLock(file: string): LockInfo | null {
  try {
    const info = JSON.parse(readTextFileBounded(file, 64e3, 'a lock file')) as LockInfo; // a few hundred bytes when ours
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : null;
  } catch {
    return null;
  }
}

/** A lock that can be taken over: its process is gone from this host, or it was never completed long ago. */
function stale(file: string, info: LockInfo | null): boolean {
  if (info === null) {
    // Created but never written (killed within microseconds of O_EXCL): stale after a minute.
    const s = statSync(file, { throwIfNoEntry: false });
    return s === undefined || Date.now() - s.mtimeMs > 60_000;
  }
  return info.host === hostname() && info.pid !== process.pid && !pidAlive(info.pid);
}

/**
 * Takes the lock on `canonical` (an absolute path with symbolic links resolved) for `command`.
 * `label` names the output in messages (e.g. `--out x.npy`). Throws OutputLockedError when a
 * live process holds it. Returns a function releasing it (also released at exit).
 */
export function lockOutput(canonical: string, label: string, command: string): () => void {
  const file = lockPath(canonical);
  try {
    mkdirSync(lockDir(), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new OutputPathError(`cannot create the lock folder ${lockDir()} (${(e as NodeJS.ErrnoException).code}); set FLYVIS_LOCK_DIR to a writable folder`);
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), started, command, path: canonical };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OutputPathError(`cannot create the lock ${file} for ${label} (${(e as NodeJS.ErrnoException).code}); set FLYVIS_LOCK_DIR to a writable folder`);
      }
      const other = readLock(file);
      if (!held.has(file) && stale(file, other)) {
        rmSync(file, { force: true });
        continue;
      }
      const who = other === null ? 'another flyvis process' : `${other.command} (pid ${other.pid} on ${other.host}, since ${other.started})`;
      throw new OutputLockedError(`${label}: is being written by ${who}; wait for it to finish or choose another output`);
    }
    try {
      writeAll(fd, Buffer.from(JSON.stringify(info)));
    } finally {
      closeSync(fd);
    }
    held.add(file);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', releaseAllLocks);
    }
    return () => {
      if (held.delete(file)) rmSync(file, { force: true });
    };
  }
  throw new OutputLockedError(`${label}: another flyvis process keeps taking the lock ${file}; try again`);
}

/** Releases every lock this process holds. */
export function releaseAllLocks(): void {
  for (const file of held) rmSync(file, { force: true });
  held.clear();
}
