// The shared output layer: every output checked before work, atomic commits that never rename
// over devices or pipes, errors naming the user's path, locks between processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputPathError, OutputWriteError, removeStaleTemps, tempPath, writeFileAtomic } from '../../src/io/atomic.ts';
import { OutputLockedError, lockPath } from '../../src/io/lock.ts';
import { openOutputs } from '../../src/io/output.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-out-'));
let lockDir: string;
const savedLockDir = process.env.FLYVIS_LOCK_DIR;
beforeAll(() => {
  lockDir = tmp();
  process.env.FLYVIS_LOCK_DIR = lockDir;
});
afterAll(() => {
  if (savedLockDir === undefined) delete process.env.FLYVIS_LOCK_DIR;
  else process.env.FLYVIS_LOCK_DIR = savedLockDir;
});

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OutputPathError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('openOutputs refuses bad outputs before any work', () => {
  it('an empty path, a wrong extension, a directory, a file used as a folder', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    expect(refusal(() => openOutputs('t', [{ flag: 'out', path: '' }]))).toBe("--out: expected a file name, got ''");
    expect(refusal(() => openOutputs('t', [{ flag: 'traces', path: 'x.txt', extensions: ['.svg', '.png'] }]))).toBe(
      "--traces: expected a file name ending in .svg or .png, got 'x.txt'",
    );
    expect(refusal(() => openOutputs('t', [{ flag: 'out', path: dir }]))).toMatch(/^--out: .* is a directory, expected a file name/);
    const under = join(dir, 'file', 'sub', 'a.npy');
    expect(refusal(() => openOutputs('t', [{ flag: 'out', path: under }]))).toBe(`--out: ${under}: ${join(dir, 'file')} is a regular file, expected a folder`);
    expect(refusal(() => openOutputs('t', [{ flag: 'out-dir', path: join(dir, 'file'), kind: 'dir', files: ['a'] }]))).toBe(
      `--out-dir: ${join(dir, 'file')} is a regular file, expected a folder`,
    );
  });

  it('an output that is an input: same path, through a symbolic link, or a hard link', () => {
    const dir = tmp();
    const movie = join(dir, 'm.npy');
    writeFileSync(movie, 'movie');
    symlinkSync(movie, join(dir, 'link.npy'));
    linkSync(movie, join(dir, 'hard.npy'));
    for (const out of [movie, join(dir, 'link.npy'), join(dir, 'hard.npy'), join(dir, '.', 'm.npy')]) {
      expect(refusal(() => openOutputs('t', [{ flag: 'out', path: out }], [{ flag: 'movie', path: movie }]))).toBe(
        `--out: ${out} is the same file as --movie ${movie}; an output must not replace an input`,
      );
    }
    expect(readFileSync(movie, 'utf8')).toBe('movie');
  });

  it('two outputs on one path', () => {
    const dir = tmp();
    const a = join(dir, 'a.svg');
    expect(refusal(() => openOutputs('t', [{ flag: 'traces', path: a }, { flag: 'frame-out', path: join(dir, 'sub', '..', 'a.svg') }]))).toMatch(
      /^--frame-out .* and --traces .* are the same file; expected different outputs$/,
    );
  });

  it('a socket-less refusal of devices when asked, and dangling links', () => {
    const dir = tmp();
    expect(refusal(() => openOutputs('t', [{ flag: 'out', path: '/dev/null', nonRegular: 'refuse', why: 'checkpoints are read back' }]))).toBe(
      '--out: /dev/null is a character device, expected a regular file (checkpoints are read back)',
    );
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    expect(refusal(() => openOutputs('t', [{ flag: 'out', path: join(dir, 'dangling') }]))).toMatch(/is a symbolic link to a missing file/);
  });
});

describe('commits', () => {
  it('creates missing folders only at commit, and removes them when the commit fails', () => {
    const dir = tmp();
    const out = join(dir, 'new', 'deeper', 'a.npy');
    const outs = openOutputs('t', [{ flag: 'out', path: out }]);
    outs.stage('out', 'data');
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(outs.commit()).toEqual([out]);
    expect(readFileSync(out, 'utf8')).toBe('data');
    outs.release();
    expect(readdirSync(dir)).toEqual(['new']); // no temporary files left

    const out2 = join(dir, 'other', 'b.npy');
    const outs2 = openOutputs('t', [{ flag: 'out', path: out2 }]);
    outs2.stage('out', 'data');
    // Make the rename fail after the folder was created: the temporary file disappears.
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f));
    expect(() => outs2.commit()).toThrow(`--out: ${out2}: cannot write`);
    expect(existsSync(join(dir, 'other'))).toBe(false);
    outs2.release();
  });

  it('discarding leaves nothing behind; a folder output writes its files together', () => {
    const dir = tmp();
    const outs = openOutputs('t', [{ flag: 'out-dir', path: join(dir, 'run'), kind: 'dir', files: ['a.npy', 'b.svg'] }]);
    outs.stage('out-dir', 'A', 'a.npy');
    outs.discard();
    outs.release();
    expect(readdirSync(dir)).toEqual([]);
    const outs2 = openOutputs('t', [{ flag: 'out-dir', path: join(dir, 'run'), kind: 'dir', files: ['a.npy', 'b.svg'] }]);
    outs2.stage('out-dir', 'A', 'a.npy');
    const s = outs2.stream('out-dir', 'b.svg');
    s.write(Buffer.from('world'), 5);
    s.write(Buffer.from('hello'), 0);
    expect(outs2.commit()).toEqual([join(dir, 'run', 'a.npy'), join(dir, 'run', 'b.svg')]);
    outs2.release();
    expect(readFileSync(join(dir, 'run', 'b.svg'), 'utf8')).toBe('helloworld');
  });

  it('writes into a character device or named pipe in place, never renaming over it', async () => {
    const outs = openOutputs('t', [{ flag: 'out', path: '/dev/null' }]);
    outs.stage('out', 'data');
    outs.commit();
    outs.release();
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);

    const dir = tmp();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (b: Buffer) => (got += b.toString()));
    const closed = new Promise((r) => reader.on('close', r));
    const outs2 = openOutputs('t', [{ flag: 'out', path: fifo }]);
    const s = outs2.stream('out');
    s.write(Buffer.from('through the pipe'));
    outs2.commit();
    outs2.release();
    await closed;
    expect(got).toBe('through the pipe');
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(['pipe']);
  });
});

describe('writeFileAtomic', () => {
  it('names the file asked for, never a temporary name, and exits as bad input for bad paths', () => {
    const dir = tmp();
    const file = join(dir, 'missing', 'x.npy');
    try {
      writeFileAtomic(file, 'x');
      throw new Error('expected a failure');
    } catch (e) {
      expect(e).toBeInstanceOf(OutputPathError);
      expect((e as Error).message).toBe(`${file}: cannot write (its folder does not exist, ENOENT)`);
    }
    expect(() => writeFileAtomic(dir, 'x')).toThrow(`${dir}: is a directory, expected a file name`);
    expect(() => writeFileAtomic('', 'x')).toThrow("expected a file name, got ''");
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes /dev/null in place and reports /dev/full as a write failure naming it', () => {
    writeFileAtomic('/dev/null', 'x');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    try {
      writeFileAtomic('/dev/full', 'x');
      throw new Error('expected a failure');
    } catch (e) {
      expect(e).toBeInstanceOf(OutputWriteError);
      expect((e as Error).message).toBe('/dev/full: cannot write (no space left on the device, ENOSPC)');
    }
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('replaces the file a symbolic link points to, keeping the link', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'real'), 'old');
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    writeFileAtomic(join(dir, 'link'), 'new');
    expect(readFileSync(join(dir, 'real'), 'utf8')).toBe('new');
    expect(readdirSync(dir).sort()).toEqual(['link', 'real']);
  });
});

describe('locks and debris', () => {
  it('refuses a second writer of the same output, naming the holder; free again after release', () => {
    const dir = tmp();
    const out = join(dir, 'a.npy');
    const first = openOutputs('first', [{ flag: 'out', path: out }]);
    let message = '';
    try {
      openOutputs('second', [{ flag: 'out', path: join(dir, '.', 'a.npy') }]);
    } catch (e) {
      expect(e).toBeInstanceOf(OutputLockedError);
      message = (e as Error).message;
    }
    expect(message).toContain(`--out ${join(dir, '.', 'a.npy')}: is being written by flyvis first (pid ${process.pid} on ${hostname()}`);
    first.release();
    openOutputs('third', [{ flag: 'out', path: out }]).release();
  });

  it('takes over the lock of a process that no longer runs, and removes its temporary files', () => {
    const dir = tmp();
    const out = join(dir, 'a.npy');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    mkdirSync(lockDir, { recursive: true });
    writeFileSync(lockPath(out), JSON.stringify({ pid, host: hostname(), started: 'then', command: 'flyvis fit', path: out }));
    // A temporary file of that process: same naming, its pid.
    const mine = tempPath(dir, 'a.npy');
    const theirs = mine.replace(`-${process.pid}-`, `-${pid}-`);
    writeFileSync(theirs, 'partial');
    const outs = openOutputs('t', [{ flag: 'out', path: out }]);
    expect(existsSync(theirs)).toBe(false);
    expect(JSON.parse(readFileSync(lockPath(out), 'utf8')).pid).toBe(process.pid);
    outs.release();
    expect(existsSync(lockPath(out))).toBe(false);
    // A live process's temporary file is left alone.
    const live = mine;
    writeFileSync(live, 'in progress');
    expect(removeStaleTemps(dir, 'a.npy')).toEqual([]);
    expect(existsSync(live)).toBe(true);
  });
});
