// docs/examples/teacher-student.ts, run as the docs tell users to: at a small size it writes its three
// outputs into a new folder under the working directory, never into docs/, and leaves no temporary
// files, also when it is stopped with Ctrl-C or fails; it refuses to write into a folder with files.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR } from '../helpers/shared.ts';

const EXAMPLE = join(PROJECT_DIR, 'docs', 'examples', 'teacher-student.ts');
/** tsx's loader, by URL: the example runs from other working directories. */
const TSX = pathToFileURL(createRequire(join(PROJECT_DIR, 'package.json')).resolve('tsx')).href;
const root = mkdtempSync(join(tmpdir(), 'flyvis-ts-example-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The example's temporary folders in TMPDIR (tsx and flyvis fit's output locks keep their own there). */
const leftovers = (tmp: string) => readdirSync(tmp).filter((f) => f.startsWith('flyvis-ts-example-'));

/** A fresh working directory and a private TMPDIR (to see what the example leaves there). */
function place(name: string) {
  const cwd = join(root, name);
  const tmp = join(cwd, '.tmp');
  mkdirSync(tmp, { recursive: true });
  return { cwd, tmp };
}

function start(where: { cwd: string; tmp: string }, ...args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, EXAMPLE, ...args], {
    cwd: where.cwd, env: { ...process.env, TMPDIR: where.tmp }, stdio: 'pipe',
  });
}

async function run(where: { cwd: string; tmp: string }, ...args: string[]) {
  const child = start(where, ...args);
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

const docsState = () => execFileSync('git', ['status', '--porcelain', '--', 'docs/figures'], { cwd: PROJECT_DIR, encoding: 'utf8' });

describe('the teacher-student example', () => {
  it('writes three files into teacher-student-out/, none into docs/, no temporary files left', async () => {
    const where = place('ok');
    const before = docsState();
    const r = await run(where, '--extent', '2', '--iters', '20');
    expect(r.code, r.stderr).toBe(0);
    const out = join(where.cwd, 'teacher-student-out');
    expect(readdirSync(out).sort()).toEqual(['teacher-student-loss.svg', 'teacher-student-traces.svg', 'teacher-student.json']);
    expect(r.stdout.trim().split('\n')).toEqual(['teacher-student-loss.svg', 'teacher-student-traces.svg', 'teacher-student.json'].map((f) => join(out, f)));
    const result = JSON.parse(readFileSync(join(out, 'teacher-student.json'), 'utf8')) as Record<string, number | string>;
    expect(result).toMatchObject({ connectome: 'demo', extent: 2, n_nodes: 250, iters: 20, lr: 0.01 });
    expect(result.final_loss).toBeLessThan(result.initial_loss as number); // it did fit
    expect(leftovers(where.tmp)).toEqual([]);
    expect(readdirSync(where.cwd).sort()).toEqual(['.tmp', 'teacher-student-out']);
    expect(docsState()).toBe(before);

    // Run again into the same folder: refused, one line, exit 2, nothing touched.
    const again = await run(where, '--extent', '2', '--iters', '5');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^teacher-student: --out-dir teacher-student-out: exists and is not an empty folder; name a new folder .*\n$/);
    expect(readFileSync(join(out, 'teacher-student.json'), 'utf8')).toBe(`${JSON.stringify(result, null, 2)}\n`);
  });

  it('bad arguments and a bad connectome: one line, exit 2, nothing written', async () => {
    const where = place('bad');
    writeFileSync(join(where.cwd, 'broken.json'), '{"nodes": [');
    const cases: [string[], RegExp][] = [
      [['--extent', '2.5'], /^teacher-student: --extent: expected an integer >= 0, got '2\.5'$/],
      [['--lr', '0'], /^teacher-student: --lr: expected a positive number, got '0'$/],
      [['--connectome', 'broken.json', '--extent', '1'], /^teacher-student: connectome file .*broken\.json: not valid JSON/],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(where, ...args)));
    for (const [i, [args, pattern]] of cases.entries()) {
      const r = runs[i]!;
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    }
    expect(leftovers(where.tmp)).toEqual([]);
    expect(readdirSync(where.cwd).sort()).toEqual(['.tmp', 'broken.json']);
  });

  it('Ctrl-C during the fit: exit 130, no output folder, no temporary files', async () => {
    const where = place('interrupt');
    const child = start(where, '--extent', '2', '--iters', '100000', '--out-dir', 'mine');
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      void exited.then(() => resolve()); // (a child that ended early fails the checks below)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/iter +\d+\/100000/.test(stderr)) resolve();
      });
    });
    expect(leftovers(where.tmp)).toEqual([expect.stringMatching(/^flyvis-ts-example-/)]); // its temporary folder, while it runs
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/teacher-student: interrupted; nothing was written\n$/);
    expect(leftovers(where.tmp)).toEqual([]);
    expect(existsSync(join(where.cwd, 'mine'))).toBe(false);
  });
});
