// `flyvis ensemble fit` over the local pool: members are `flyvis fit` runs (seed S + k) written
// as flyvis network directories; each member runs exactly once (also with two pools on one
// directory); the pool needs neither bullmq nor ioredis (nothing to install), while --queue
// without them is one line; a member killed with SIGKILL is retried from its checkpoint and ends
// with the parameters of an uninterrupted fit; Ctrl-C keeps checkpoints and the next run
// completes; bad input is refused with nothing written; a bad member fails alone.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEnsembleDir } from '../../src/results/index.ts';
import { DT, makeTeacher } from '../cli/fit-helpers.ts';
import { attempts, claimOf, ensemble, fitIteration, flyvis, lastJson, start, tmp, until } from './helpers.ts';

let data: string;
let fitArgs: string[];
/** The environment of a machine without bullmq and ioredis: importing either fails as when not installed. */
let withoutQueuePackages: NodeJS.ProcessEnv;
beforeAll(() => {
  data = tmp();
  const t = makeTeacher(2);
  const movie = t.movie(11, 2, 10);
  const movieFile = t.writeMovie(join(data, 'movie.npy'), movie);
  const targetFile = t.writeTarget(join(data, 'target.npy'), t.activity(movie), [2, 10, t.net.nNodes]);
  fitArgs = ['--connectome', 'demo', '--extent', '2', '--movie', movieFile, '--target', targetFile, '--dt', String(DT), '--batch-size', '1'];
  const hide = join(data, 'hide');
  mkdirSync(hide);
  writeFileSync(
    join(hide, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (/^(bullmq|ioredis)(\\/|$)/.test(specifier)) {
    const e = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
`,
  );
  writeFileSync(join(hide, 'register.mjs'), "import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n");
  withoutQueuePackages = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${join(hide, 'register.mjs')}`.trim() };
});

describe('flyvis ensemble fit (local pool)', () => {
  it('fits each member as flyvis fit with seed S + k (without bullmq or ioredis), writes a loadable ensemble, and a second run does nothing', async () => {
    const out = join(tmp(), 'ens');
    const args = ['ensemble', 'fit', '--out', out, '--members', '3', '--jobs', '2', '--seed', '5', ...fitArgs, '--iters', '6', '--checkpoint-every', '2'];
    const r = flyvis(args, withoutQueuePackages);
    expect(r.stderr).toMatch(/flyvis ensemble fit: 3\/3 done, 0 running, 0 failed/);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ members: 3, done: 3, failed: [], finished_now: 3, status: 'done' });
    // Member 001 is exactly `flyvis fit --seed 6`.
    const direct = join(tmp(), 'fit.json');
    expect(flyvis(['fit', ...fitArgs, '--iters', '6', '--checkpoint-every', '2', '--seed', '6', '--out', direct]).code).toBe(0);
    expect(readFileSync(join(out, '001', 'fit.json'), 'utf8')).toBe(readFileSync(direct, 'utf8'));
    expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).not.toBe(readFileSync(direct, 'utf8'));
    // flyvis's ensemble layout: loadEnsembleDir reads it, validation loss = the final fit loss.
    const e = await loadEnsembleDir(out);
    expect(e.members.map((m) => m.id)).toEqual(['000', '001', '002']);
    const loaded = await e.loadNetwork('001');
    const fitted = JSON.parse(readFileSync(direct, 'utf8')) as Record<string, number[]>;
    expect(Array.from(loaded.network.stateDict().nodes_bias!)).toEqual(fitted.nodes_bias!.map(Math.fround));
    const status = await ensemble('status', out, '--json');
    expect(status.code).toBe(0);
    const rows = status.stdout.trim().split('\n').map((l) => JSON.parse(l) as { member: string; state: string; iteration: string; loss: number });
    expect(rows.map((x) => [x.member, x.state, x.iteration])).toEqual([['000', 'done', '6/6'], ['001', 'done', '6/6'], ['002', 'done', '6/6']]);
    expect(rows[1]!.loss).toBe(e.members[1]!.validationLoss);
    // Again: every member is done, none runs twice.
    const again = await ensemble(...args.slice(1));
    expect(again.code).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ done: 3, finished_now: 0 });
    for (const id of ['000', '001', '002']) expect(attempts(out, id)).toBe(1);
  });

  it('two pools on the same directory run every member exactly once', async () => {
    const out = join(tmp(), 'ens');
    const args = ['ensemble', 'fit', '--out', out, '--members', '4', '--jobs', '2', ...fitArgs, '--iters', '4'];
    const first = start(args);
    await until(() => existsSync(join(out, '.flyvis-ensemble', 'spec.json')), 'the first pool');
    const second = start(args);
    expect(await Promise.all([first.exit, second.exit])).toEqual([0, 0]);
    const [ja, jb] = [lastJson(first.out.stdout), lastJson(second.out.stdout)];
    expect((ja.finished_now as number) + (jb.finished_now as number)).toBe(4);
    for (const id of ['000', '001', '002', '003']) expect(attempts(out, id)).toBe(1);
    expect((await loadEnsembleDir(out)).members).toHaveLength(4);
  });

  describe('faults', () => {
    const iters = 400;
    let reference: string;
    beforeAll(() => {
      reference = join(tmp(), 'fit.json');
      const r = flyvis(['fit', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5', '--seed', '0', '--out', reference]);
      expect(r.code).toBe(0);
    });

    it('a member killed with SIGKILL is retried from its checkpoint and ends as an uninterrupted fit', async () => {
      const out = join(tmp(), 'ens');
      const pool = ensemble('fit', '--out', out, '--members', '1', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5');
      await until(() => fitIteration(out) >= 10, 'member 000 at iteration 10');
      process.kill(claimOf(out, '000')!.child!, 'SIGKILL');
      const r = await pool;
      expect(r.stderr).toMatch(/member 000 stopped \(killed by SIGKILL\); retrying from its checkpoint/);
      expect(r.code).toBe(0);
      expect(attempts(out, '000')).toBe(2);
      const log = readFileSync(join(out, '.flyvis-ensemble', '000.log'), 'utf8');
      expect(log).toMatch(/--- attempt 2 .* --resume\n/);
      expect(Number(/iterations (\d+)-400/.exec(log.slice(log.indexOf('--- attempt 2')))![1])).toBeGreaterThan(10);
      expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    });

    it('Ctrl-C interrupts the members (checkpoints kept, exit 130); the same command then completes them', async () => {
      const out = join(tmp(), 'ens');
      const args = ['ensemble', 'fit', '--out', out, '--members', '1', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5'];
      const pool = start(args);
      await until(() => fitIteration(out) >= 10, 'member 000 at iteration 10');
      pool.child.kill('SIGINT');
      expect(await pool.exit).toBe(130);
      expect(pool.out.stderr).toMatch(/flyvis ensemble fit: interrupted; 0 of 1 members done, the checkpoints of the others are kept/);
      const at = fitIteration(out);
      expect(at).toBeGreaterThanOrEqual(10);
      expect(at).toBeLessThan(iters);
      expect((await ensemble('status', out)).stdout).toMatch(/000  pending/);
      const again = await ensemble(...args.slice(1));
      expect(again.code).toBe(0);
      expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    });
  });

  it('bad input: one line naming the flag, exit 2, nothing written', async () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const r = await ensemble('fit', '--out', out, '--members', '2', ...fitArgs.map((a) => (a === String(DT) ? '-1' : a)), '--iters', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flyvis ensemble fit: member 00\d: --dt: expected a positive time step in seconds such as 0.005 or 1\/200, got '-1'\n$/);
    expect(existsSync(out)).toBe(false);
    const missing = await ensemble('fit', '--members', '2', ...fitArgs);
    expect([missing.code, missing.stderr]).toEqual([2, 'flyvis ensemble fit: --out is required (the ensemble directory)\n']);
    writeFileSync(join(dir, 'x.txt'), 'x');
    const foreign = await ensemble('fit', '--out', dir, '--members', '2', ...fitArgs, '--iters', '2');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/--out .*: exists and is not an ensemble this command started/);
    for (const flag of ['--resume', '--check']) {
      const own = await ensemble('fit', '--out', out, '--members', '2', ...fitArgs, '--iters', '2', flag);
      expect(own.code).toBe(2);
      expect(own.stderr).toMatch(new RegExp(`^flyvis ensemble fit: ${flag}: .*leave it out\\n$`));
    }
    expect(existsSync(out)).toBe(false);
    // --queue and flyvis worker where bullmq / ioredis are not installed: one line naming them
    const noQueue = flyvis(['ensemble', 'fit', '--out', out, '--members', '2', '--queue', 'redis://127.0.0.1:1', ...fitArgs, '--iters', '2'], withoutQueuePackages);
    expect([noQueue.code, noQueue.stderr]).toEqual([2, 'flyvis ensemble fit: --queue: needs the optional packages bullmq and ioredis (npm install bullmq@6.7.0 ioredis@6.0.0)\n']);
    expect(existsSync(out)).toBe(false);
    const worker = flyvis(['worker', '--queue', 'redis://127.0.0.1:1'], withoutQueuePackages);
    expect([worker.code, worker.stderr]).toEqual([2, 'flyvis worker: --queue: needs the optional packages bullmq and ioredis (npm install bullmq@6.7.0 ioredis@6.0.0)\n']);
  });

  it('a member that fails is reported with its error and the others finish', async () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const t = makeTeacher(2);
    const good = `${JSON.stringify(Object.fromEntries(Object.entries(t.net.stateDict()).map(([k, v]) => [k, Array.from(v)])))}\n`;
    writeFileSync(join(dir, 'init-000.json'), good);
    writeFileSync(join(dir, 'init-001.json'), '{"nodes_bias": [1, 2');
    writeFileSync(join(dir, 'init-002.json'), good);
    const r = await ensemble('fit', '--out', out, '--members', '3', '--jobs', '1', ...fitArgs, '--iters', '2', '--params', join(dir, 'init-{member}.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flyvis ensemble fit: error: 1 of 3 members failed \(001: flyvis fit: .*init-001\.json/);
    expect(lastJson(r.stdout)).toMatchObject({ done: 2, status: 'failed' });
    expect(existsSync(join(out, '002', '_meta.yaml'))).toBe(true);
    expect((await ensemble('status', out)).stdout).toMatch(/001  failed .*error: flyvis fit: .*init-001\.json/);
  });
});
