// The output layer every command shares: check all outputs before any work, then write them
// atomically together.
//
//   const outs = openOutputs('simulate',
//     [{ flag: 'out', path: o.out, extensions: ['.npy'] }, { id: 'sidecar', flag: 'out', path: `${o.out}.json` }],
//     [{ flag: 'movie', path: o.movie }, { flag: 'params', path: o.params }]);   // throws before any work
//   ... the work ...
//   outs.stage('out', bytes); outs.stage('sidecar', json);                        // temporary files
//   const written = outs.commit();                                                 // rename into place
//
// openOutputs refuses (OutputPathError, exit 2 in the command line, one line naming the flag and
// the path as typed): an empty path; a wrong extension; an existing directory where a file is
// expected (or a file where a folder is); a path whose nearest existing ancestor is not a folder
// or not writable; an output that is the same file as an input (symbolic links resolved, hard
// links by device and inode) or as another output; a dangling symbolic link; a socket or block
// device; and an output another flyvis process is writing (advisory lock, see lock.ts). Missing
// parent folders are created only at commit, and removed again if the commit fails, so a
// failure leaves no empty folders. Temporary files live in the nearest existing folder (the
// target's own, or an ancestor that exists), are renamed into place at commit, are removed on
// failure and at exit, and those of killed processes are cleaned up the next time. An existing
// character device or named pipe is written in place at commit (never renamed over), unless the
// request says `nonRegular: 'refuse'`.
import {
  accessSync, closeSync, constants, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, rmdirSync, statSync, lstatSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import {
  OutputPathError, OutputWriteError, fileKind, outputError, removeStaleTemps, tempPath, trackTemp, writableInPlace, writeAll,
  writeFileAtomic, writeInPlace,
} from './atomic.ts';
import { OutputLockedError, lockOutput } from './lock.ts';

export { OutputPathError, OutputWriteError, OutputLockedError, outputError, writeFileAtomic };

/** One output a command will write. */
export interface OutputRequest {
  /** How the command refers to it in stage() / path(); default: `flag`. */
  readonly id?: string;
  /** The flag that names it, without dashes (`out`): messages say `--out`. */
  readonly flag: string;
  /** The path as the user typed it (or derived from it, e.g. `${out}.json`); undefined: not requested. */
  readonly path: string | undefined;
  /** A file (default) or a folder of `files`. */
  readonly kind?: 'file' | 'dir';
  /** Accepted endings, e.g. ['.svg', '.png'] (case-insensitive). */
  readonly extensions?: readonly string[];
  /** For a folder: the names written inside it. */
  readonly files?: readonly string[];
  /** An existing character device or named pipe: written in place (default) or refused. */
  readonly nonRegular?: 'in-place' | 'refuse';
  /** Why a non-regular target is refused (appended to the message). */
  readonly why?: string;
  /** A file name to suggest when a directory is given instead of a file, e.g. 'activity.npy'. */
  readonly example?: string;
}

/** One input a command reads: an output may not be the same file. */
export interface InputRequest {
  readonly flag: string;
  readonly path: string | undefined;
}

/** A checked output file (a folder output has one per file inside). */
export interface OutputFile {
  readonly id: string;
  readonly flag: string;
  /** The name inside a folder output; undefined for a file output. */
  readonly name: string | undefined;
  /** As the user would write it: the given path, or join(given folder, name). */
  readonly display: string;
  /** Where it is written: absolute, symbolic links to an existing file followed. */
  readonly path: string;
  /** Absolute, symbolic links resolved as far as the path exists (the lock key). */
  readonly canonical: string;
  /** It exists now (a regular file, or a device / pipe written in place). */
  readonly exists: boolean;
  /** An existing character device or named pipe: written in place at commit. */
  readonly inPlace: boolean;
  /** Folders to create at commit, outermost first. */
  readonly missingDirs: readonly string[];
  /** Where its temporary file goes: the nearest existing folder (the OS's temporary folder for in-place targets). */
  readonly stagingDir: string;
}

const label = (flag: string, display: string): string => `--${flag} ${display}`;
const sameFile = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;

function statOrUndefined(path: string, flag: string, display: string, follow = true): Stats | undefined {
  try {
    return (follow ? statSync : lstatSync)(path, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return undefined; // a parent is a file: reported by the folder walk
    throw outputError(display, e, `--${flag}`);
  }
}

/** The nearest existing ancestor of `abs` (checked to be a writable folder) and the folders missing below it. */
function walkParents(abs: string, flag: string, display: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let d = dirname(abs);
  for (;;) {
    const s = statOrUndefined(d, flag, display);
    if (s !== undefined) {
      if (!s.isDirectory()) {
        throw new OutputPathError(`--${flag}: ${display}: ${d} is ${fileKind(s)}, expected a folder`);
      }
      try {
        accessSync(d, constants.W_OK | constants.X_OK);
      } catch {
        throw new OutputPathError(`--${flag}: ${display}: cannot write in the folder ${d} (permission denied)`);
      }
      return { existing: d, missing };
    }
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) throw new OutputPathError(`--${flag}: ${display}: no existing folder above it`);
    d = up;
  }
}

function checkFile(req: OutputRequest, id: string, name: string | undefined, display: string, abs: string): OutputFile {
  const { flag } = req;
  const l = lstatOrUndefined(abs, flag, display);
  let path = abs;
  let s: Stats | undefined = l;
  if (l?.isSymbolicLink()) {
    s = statOrUndefined(abs, flag, display);
    if (s === undefined) throw new OutputPathError(`--${flag}: ${display} is a symbolic link to a missing file; expected a file name`);
    path = realpathSync(abs);
  }
  let inPlace = false;
  if (s !== undefined && !s.isFile()) {
    if (s.isDirectory()) {
      throw new OutputPathError(`--${flag}: ${display} is a directory, expected a file name${name === undefined && req.example !== undefined ? ` (e.g. ${join(display, req.example)})` : ''}`);
    }
    if (!writableInPlace(s) || req.nonRegular === 'refuse') {
      throw new OutputPathError(`--${flag}: ${display} is ${fileKind(s)}, expected a regular file${req.why ? ` (${req.why})` : ''}`);
    }
    inPlace = true;
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new OutputPathError(`--${flag}: ${display}: cannot write (permission denied)`);
    }
  }
  const { existing, missing } = walkParents(path, flag, display);
  const canonical = join(realpathSync(existing), relative(existing, path));
  return {
    id, flag, name, display, path, canonical, exists: s !== undefined, inPlace, missingDirs: missing,
    stagingDir: inPlace ? tmpdir() : existing,
  };
}

function lstatOrUndefined(abs: string, flag: string, display: string): Stats | undefined {
  return statOrUndefined(abs, flag, display, false);
}

/** Checks one request: its files (one, or one per name inside a folder). */
function checkRequest(req: OutputRequest): OutputFile[] {
  const id = req.id ?? req.flag;
  const given = req.path!;
  const { flag } = req;
  if (given === '') throw new OutputPathError(`--${flag}: expected a ${req.kind === 'dir' ? 'folder' : 'file'} name, got ''`);
  if (req.extensions !== undefined && !req.extensions.some((e) => given.toLowerCase().endsWith(e.toLowerCase()))) {
    const list = req.extensions.length === 1 ? req.extensions[0]! : `${req.extensions.slice(0, -1).join(', ')} or ${req.extensions.at(-1)}`;
    throw new OutputPathError(`--${flag}: expected a file name ending in ${list}, got '${given}'`);
  }
  const abs = resolve(given);
  if (req.kind !== 'dir') return [checkFile(req, id, undefined, given, abs)];
  const s = statOrUndefined(abs, flag, given);
  if (s !== undefined && !s.isDirectory()) throw new OutputPathError(`--${flag}: ${given} is ${fileKind(s)}, expected a folder`);
  if (s === undefined) walkParents(abs, flag, given);
  const dir = s === undefined ? abs : realpathSync(abs);
  return (req.files ?? []).map((name) => checkFile(req, id, name, join(given, name), join(dir, name)));
}

/**
 * Checks every output against the rules above and against the inputs, and locks them.
 * Throws OutputPathError (or OutputLockedError) naming the flag and the path as typed.
 */
export function openOutputs(command: string, outputs: readonly OutputRequest[], inputs: readonly InputRequest[] = []): Outputs {
  const files = outputs.filter((r) => r.path !== undefined).flatMap(checkRequest);
  const inputStats = inputs
    .filter((i) => i.path !== undefined && i.path !== '')
    .map((i) => ({ ...i, stat: statSync(i.path!, { throwIfNoEntry: false }) }));
  const existingStats = new Map(files.filter((f) => f.exists).map((f) => [f, statSync(f.path)] as const));
  for (const f of files) {
    const s = existingStats.get(f);
    for (const input of inputStats) {
      if (s !== undefined && input.stat !== undefined && sameFile(s, input.stat) && !f.inPlace) {
        throw new OutputPathError(`--${f.flag}: ${f.display} is the same file as --${input.flag} ${input.path}; an output must not replace an input`);
      }
    }
  }
  for (let i = 0; i < files.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = files[j]!;
      const b = files[i]!;
      const sa = existingStats.get(a);
      const sb = existingStats.get(b);
      if (a.canonical === b.canonical || (sa !== undefined && sb !== undefined && sameFile(sa, sb) && !(a.inPlace && b.inPlace))) {
        const what = (f: OutputFile): string => (f.name === undefined && f.id === f.flag ? `--${f.flag} ${f.display}` : `${f.display} (from --${f.flag})`);
        throw new OutputPathError(`${what(b)} and ${what(a)} are the same file; expected different outputs`);
      }
    }
  }
  const unlocks: (() => void)[] = [];
  try {
    for (const f of files) {
      if (f.inPlace) continue; // a device or pipe: writers do not replace each other's files
      unlocks.push(lockOutput(f.canonical, label(f.flag, f.display), `flyvis ${command}`));
      removeStaleTemps(f.stagingDir, basename(f.path));
    }
  } catch (e) {
    for (const u of unlocks) u();
    throw e;
  }
  return new Outputs(files, unlocks);
}

/** A file being written in pieces (e.g. a .npy streamed chunk by chunk) before commit. */
export interface StagedStream {
  /** Writes bytes at `position` (default: after the last write). */
  write(bytes: Uint8Array, position?: number): void;
  /** Bytes written so far (the end of the furthest write). */
  readonly size: number;
}

interface Staged {
  readonly file: OutputFile;
  readonly temp: string | undefined;
  readonly data: string | Uint8Array | undefined;
  fd: number | undefined;
  readonly untrack: () => void;
}

/** Checked, locked outputs; stage files, then commit them together. */
export class Outputs {
  private staged: Staged[] = [];
  private readonly committed: string[] = [];

  constructor(
    readonly files: readonly OutputFile[],
    private readonly unlocks: (() => void)[],
  ) {}

  /** The checked file for an output id (and a name inside a folder output); undefined when that output was not requested. */
  file(id: string, name?: string): OutputFile | undefined {
    return this.files.find((f) => f.id === id && f.name === name);
  }

  private need(id: string, name?: string): OutputFile {
    const f = this.file(id, name);
    if (f === undefined) throw new Error(`output '${id}'${name === undefined ? '' : ` / '${name}'`} was not declared to openOutputs`);
    return f;
  }

  /** True when the output was requested. */
  has(id: string, name?: string): boolean {
    return this.file(id, name) !== undefined;
  }

  /** Writes the contents of an output to its temporary file now (in memory for an in-place target). */
  stage(id: string, data: string | Uint8Array, name?: string): void {
    const file = this.need(id, name);
    if (file.inPlace) {
      this.staged.push({ file, temp: undefined, data, fd: undefined, untrack: () => undefined });
      return;
    }
    const s = this.stream(id, name);
    s.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    const entry = this.staged.at(-1)!;
    closeSync(entry.fd!);
    entry.fd = undefined;
  }

  /** Opens an output's temporary file for writing in pieces; committed like stage(). */
  stream(id: string, name?: string): StagedStream {
    const file = this.need(id, name);
    const temp = tempPath(file.stagingDir, basename(file.path));
    const untrack = trackTemp(temp);
    let fd: number;
    try {
      fd = openSync(temp, 'wx', 0o666);
    } catch (e) {
      untrack();
      throw outputError(file.display, e, `--${file.flag}`);
    }
    const entry: Staged = { file, temp, data: undefined, fd, untrack };
    this.staged.push(entry);
    let end = 0;
    return {
      write: (bytes, position) => {
        const at = position ?? end;
        try {
          writeAll(entry.fd!, bytes, at);
        } catch (e) {
          throw outputError(file.display, e, `--${file.flag}`);
        }
        end = Math.max(end, at + bytes.length);
      },
      get size() {
        return end;
      },
    };
  }

  private closeAll(): void {
    for (const s of this.staged) {
      if (s.fd !== undefined) {
        closeSync(s.fd);
        s.fd = undefined;
      }
    }
  }

  /**
   * Moves every staged file into place (creating missing folders) and returns their paths as
   * displayed. On failure, removes the temporary files and the folders this commit created.
   */
  commit(): string[] {
    this.closeAll();
    const created: string[] = [];
    const done: string[] = [];
    const staged = this.staged;
    this.staged = [];
    let current: OutputFile | undefined;
    try {
      for (const s of staged) {
        current = s.file;
        if (s.file.inPlace) {
          if (s.data !== undefined) writeInPlace(s.file.path, s.data);
          else copyInto(s.temp!, s.file.path);
        } else {
          for (const d of s.file.missingDirs) {
            try {
              mkdirSync(d);
              created.push(d);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            }
          }
          renameSync(s.temp!, s.file.path);
        }
        if (s.temp !== undefined && s.file.inPlace) rmSync(s.temp, { force: true });
        s.untrack();
        done.push(s.file.display);
      }
    } catch (e) {
      for (const s of staged) {
        if (s.temp !== undefined) rmSync(s.temp, { force: true });
        s.untrack();
      }
      for (const d of created.reverse()) {
        try {
          rmdirSync(d);
        } catch {
          // not empty: something else was written there meanwhile
        }
      }
      throw outputError(current!.display, e, `--${current!.flag}`);
    }
    this.committed.push(...done);
    return done;
  }

  /** Removes every staged, uncommitted file. */
  discard(): void {
    this.closeAll();
    for (const s of this.staged) {
      if (s.temp !== undefined) rmSync(s.temp, { force: true });
      s.untrack();
    }
    this.staged = [];
  }

  /** Discards what is staged and releases the locks (also done at exit). */
  release(): void {
    this.discard();
    for (const u of this.unlocks.splice(0)) u();
  }

  /** Every path committed so far, as displayed. */
  get written(): readonly string[] {
    return this.committed;
  }
}

function copyInto(from: string, to: string): void {
  const src = openSync(from, 'r');
  const dst = openSync(to, 'w');
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = readSync(src, buf, 0, buf.length, null);
      if (n === 0) break;
      writeAll(dst, buf.subarray(0, n));
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** The path relative to the working directory when inside it (for messages), else absolute. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : abs;
}
