// `flyvis ensemble fit` over the local pool: members are `flyvis fit` runs (seed S + k) written
// as flyvis network directories; each member runs exactly once (also with two pools on one
// directory); a member killed with SIGKILL is retried from its checkpoint and ends with the
// parameters of an uninterrupted fit; Ctrl-C keeps checkpoints and the next run completes; bad
// input is refused with nothing written; a bad member fails alone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEnsembleDir } from '../../src/results/index.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';
import { DT, makeTeacher } from '../cli/fit-helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-ensemble-'));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const start = (...args: string[]) => spawn(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
const finished = (child: ReturnType<typeof start>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (s: Buffer) => (stdout += String(s)));
    child.stderr!.on('data', (s: Buffer) => (stderr += String(s)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
const attempts = (dir: string, id: string) => (readFileSync(join(dir, '.flyvis-ensemble', `${id}.log`), 'utf8').match(/^--- attempt /gm) ?? []).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let data: string;
let fitArgs: string[];
beforeAll(() => {
  data = tmp();
  const t = makeTeacher(2);
  const movie = t.movie(11, 2, 10);
  const movieFile = t.writeMovie(join(data, 'movie.npy'), movie);
  const targetFile = t.writeTarget(join(data, 'target.npy'), t.activity(movie), [2, 10, t.net.nNodes]);
  fitArgs = ['--connectome', 'demo', '--extent', '2', '--movie', movieFile, '--target', targetFile, '--dt', String(DT), '--batch-size', '1'];
});

describe('flyvis ensemble fit (local pool)', () => {
  it('fits each member as flyvis fit with seed S + k, writes a loadable ensemble, and a second run does nothing', async () => {
    const out = join(tmp(), 'ens');
    const args = ['ensemble', 'fit', '--out', out, '--members', '3', '--jobs', '2', '--seed', '5', ...fitArgs, '--iters', '6', '--checkpoint-every', '2'];
    const r = run(...args);
    expect(r.stderr).toMatch(/flyvis ensemble fit: 3\/3 done, 0 running, 0 failed/);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ members: 3, done: 3, failed: [], finished_now: 3, status: 'done' });
    // Member 001 is exactly `flyvis fit --seed 6`.
    const direct = join(tmp(), 'fit.json');
    expect(run('fit', ...fitArgs, '--iters', '6', '--checkpoint-every', '2', '--seed', '6', '--out', direct).code).toBe(0);
    expect(readFileSync(join(out, '001', 'fit.json'), 'utf8')).toBe(readFileSync(direct, 'utf8'));
    expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).not.toBe(readFileSync(direct, 'utf8'));
    // flyvis's ensemble layout: loadEnsembleDir reads it, validation loss = the final fit loss.
    const ensemble = await loadEnsembleDir(out);
    expect(ensemble.members.map((m) => m.id)).toEqual(['000', '001', '002']);
    const loaded = await ensemble.loadNetwork('001');
    const fitted = JSON.parse(readFileSync(direct, 'utf8')) as Record<string, number[]>;
    expect(Array.from(loaded.network.stateDict().nodes_bias!)).toEqual(fitted.nodes_bias!.map(Math.fround));
    const status = run('ensemble', 'status', out, '--json');
    expect(status.code).toBe(0);
    const rows = status.stdout.trim().split('\n').map((l) => JSON.parse(l) as { member: string; state: string; iteration: string; loss: number });
    expect(rows.map((x) => [x.member, x.state, x.iteration])).toEqual([['000', 'done', '6/6'], ['001', 'done', '6/6'], ['002', 'done', '6/6']]);
    expect(rows[1]!.loss).toBe(ensemble.members[1]!.validationLoss);
    // Again: every member is done, none runs twice.
    const again = run(...args);
    expect(again.code).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ done: 3, finished_now: 0 });
    for (const id of ['000', '001', '002']) expect(attempts(out, id)).toBe(1);
  });

  it('two pools on the same directory run every member exactly once', async () => {
    const out = join(tmp(), 'ens');
    const args = ['ensemble', 'fit', '--out', out, '--members', '4', '--jobs', '2', ...fitArgs, '--iters', '4'];
    const first = start(...args);
    await sleep(300);
    const [a, b] = await Promise.all([finished(first), finished(start(...args))]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const [ja, jb] = [lastJson(a.stdout), lastJson(b.stdout)];
    expect((ja.finished_now as number) + (jb.finished_now as number)).toBe(4);
    for (const id of ['000', '001', '002', '003']) expect(attempts(out, id)).toBe(1);
    expect((await loadEnsembleDir(out)).members).toHaveLength(4);
  });

  describe('faults', () => {
    const iters = 400;
    let reference: string;
    beforeAll(() => {
      reference = join(tmp(), 'fit.json');
      const r = run('fit', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5', '--seed', '0', '--out', reference);
      expect(r.code).toBe(0);
    });
    const member = (dir: string) => ({
      iteration: () => {
        try {
          return (JSON.parse(readFileSync(join(dir, '000', 'fit.train.json'), 'utf8')) as { iteration: number }).iteration;
        } catch {
          return 0;
        }
      },
      child: () => (JSON.parse(readFileSync(join(dir, '.flyvis-ensemble', '000.claim'), 'utf8')) as { child: number }).child,
    });
    const waitFor = async (cond: () => boolean) => {
      while (!cond()) await sleep(50);
    };

    it('a member killed with SIGKILL is retried from its checkpoint and ends as an uninterrupted fit', async () => {
      const out = join(tmp(), 'ens');
      const pool = start('ensemble', 'fit', '--out', out, '--members', '1', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5');
      const done = finished(pool);
      const m = member(out);
      await waitFor(() => m.iteration() >= 10);
      process.kill(m.child(), 'SIGKILL');
      const r = await done;
      expect(r.stderr).toMatch(/member 000 stopped \(killed by SIGKILL\); retrying from its checkpoint/);
      expect(r.code).toBe(0);
      expect(attempts(out, '000')).toBe(2);
      const log = readFileSync(join(out, '.flyvis-ensemble', '000.log'), 'utf8');
      expect(log).toMatch(/--- attempt 2 .* --resume\n/);
      expect(log).toMatch(/iterations (\d+)-400/);
      expect(Number(/iterations (\d+)-400/.exec(log.slice(log.indexOf('--- attempt 2')))![1])).toBeGreaterThan(10);
      expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    });

    it('Ctrl-C interrupts the members (checkpoints kept, exit 130); the same command then completes them', async () => {
      const out = join(tmp(), 'ens');
      const args = ['ensemble', 'fit', '--out', out, '--members', '1', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5'];
      const pool = start(...args);
      const done = finished(pool);
      const m = member(out);
      await waitFor(() => m.iteration() >= 10);
      pool.kill('SIGINT');
      const r = await done;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/flyvis ensemble fit: interrupted; 0 of 1 members done, the checkpoints of the others are kept/);
      const at = m.iteration();
      expect(at).toBeGreaterThanOrEqual(10);
      expect(at).toBeLessThan(iters);
      expect(run('ensemble', 'status', out).stdout).toMatch(/000  pending/);
      const again = run(...args);
      expect(again.code).toBe(0);
      expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    });
  });

  it('bad input: one line naming the flag, exit 2, nothing written', () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const r = run('ensemble', 'fit', '--out', out, '--members', '2', ...fitArgs.map((a) => (a === String(DT) ? '-1' : a)), '--iters', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flyvis ensemble fit: member 00\d: --dt: expected a positive time step in seconds such as 0.005 or 1\/200, got '-1'\n$/);
    expect(existsSync(out)).toBe(false);
    const missing = run('ensemble', 'fit', '--members', '2', ...fitArgs);
    expect([missing.code, missing.stderr]).toEqual([2, 'flyvis ensemble fit: --out is required (the ensemble directory)\n']);
    writeFileSync(join(dir, 'x.txt'), 'x');
    const foreign = run('ensemble', 'fit', '--out', dir, '--members', '2', ...fitArgs, '--iters', '2');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/--out .*: exists and is not an ensemble this command started/);
    const resume = run('ensemble', 'fit', '--out', out, '--members', '2', ...fitArgs, '--iters', '2', '--resume');
    expect(resume.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('a member that fails is reported with its error and the others finish', () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const t = makeTeacher(2);
    const good = `${JSON.stringify(Object.fromEntries(Object.entries(t.net.stateDict()).map(([k, v]) => [k, Array.from(v)])))}\n`;
    writeFileSync(join(dir, 'init-000.json'), good);
    writeFileSync(join(dir, 'init-001.json'), '{"nodes_bias": [1, 2');
    writeFileSync(join(dir, 'init-002.json'), good);
    const r = run('ensemble', 'fit', '--out', out, '--members', '3', '--jobs', '1', ...fitArgs, '--iters', '2', '--params', join(dir, 'init-{member}.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flyvis ensemble fit: error: 1 of 3 members failed \(001: flyvis fit: .*init-001\.json/);
    expect(lastJson(r.stdout)).toMatchObject({ done: 2, status: 'failed' });
    expect(existsSync(join(out, '002', '_meta.yaml'))).toBe(true);
    const status = run('ensemble', 'status', out);
    expect(status.stdout).toMatch(/001  failed .*error: flyvis fit: .*init-001\.json/);
  });
});
