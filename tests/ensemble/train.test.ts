// `flyvis ensemble train` (members are `flyvis train --task flow` runs with seed S + k, each a
// flyvis 1.x results directory) on the local pool and through the Redis queue with two workers,
// one of them killed with SIGKILL mid-member: every member equals a direct `flyvis train --seed
// S + k` run (every checkpoint's network, decoder and optimiser state, the training and validation
// losses); then `flyvis ensemble analyze` over the ensemble. The demo connectome at extent 1.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHdf5Dataset } from '../../src/io/hdf5.ts';
import { loadTorchFile } from '../../src/io/torch/node.ts';
import type { TorchDict, TorchTensor } from '../../src/io/torch/values.ts';
import { loadEnsembleDir } from '../../src/results/index.ts';
import { type Proc, attempts, claimOf, ensemble, flyvis, lastAttempt, lastJson, start, stderrMatches, tmp, until } from './helpers.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from './redis-server.ts';

const ITERS = 40;
const SMALL = ['--task', 'flow', '--connectome', 'demo', '--extent', '1', '--train-items', '2', '--val-items', '1', '--batch-size', '1', '--iters', String(ITERS), '--checkpoint-every', '10'];
const SEED = 3;

const tensor = (file: string, ...path: (string | bigint)[]): TorchTensor => {
  let v = loadTorchFile(file) as TorchDict;
  for (const k of path.slice(0, -1)) v = v.get(k) as TorchDict;
  return v.get(path.at(-1)!) as TorchTensor;
};

/** A member run equals a direct run: every checkpoint (network, decoder, Adam's state) and the loss records. */
async function expectSameRun(member: string, direct: string): Promise<void> {
  const names = readdirSync(join(direct, 'chkpts'));
  expect(readdirSync(join(member, 'chkpts'))).toEqual(names);
  expect(names.length).toBe(ITERS / 10 + 1);
  for (const name of names) {
    const [a, b] = [join(direct, 'chkpts', name), join(member, 'chkpts', name)];
    for (const k of ['nodes_bias', 'nodes_time_const', 'edges_syn_strength']) expect(tensor(b, 'network', k).data, `${member} ${name} ${k}`).toEqual(tensor(a, 'network', k).data);
    for (const k of ['base.0.weight', 'decoder.0.bias']) expect(tensor(b, 'decoder', 'flow', k).data, `${member} ${name} ${k}`).toEqual(tensor(a, 'decoder', 'flow', k).data);
    if (name !== 'chkpt_00000') expect(tensor(b, 'optim', 'state', 0n, 'exp_avg_sq').data, `${member} ${name} optim`).toEqual(tensor(a, 'optim', 'state', 0n, 'exp_avg_sq').data);
  }
  for (const f of ['loss.h5', 'validation/loss.h5', 'validation/epe.h5']) {
    expect((await readHdf5Dataset(join(member, f))).values, `${member} ${f}`).toEqual((await readHdf5Dataset(join(direct, f))).values);
  }
}

let base: string;
const direct = (k: number) => join(base, `direct-${SEED + k}`);
beforeAll(async () => {
  base = tmp('flyvis-ensemble-train-');
  // flyvis train --seed S and S + 1, side by side
  const runs = [0, 1].map((k) => start(['train', ...SMALL, '--seed', String(SEED + k), '--out', direct(k), '--progress-every', '0']));
  expect(await Promise.all(runs.map((r) => r.exit))).toEqual([0, 0]);
});

describe('flyvis ensemble train and analyze (local pool)', () => {
  it('trains members as flyvis train --seed S + k into a loadable ensemble, then analyses it', async () => {
    const out = join(base, 'local');
    const r = flyvis(['ensemble', 'train', '--out', out, '--members', '2', '--jobs', '2', '--seed', String(SEED), ...SMALL]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ done: 2, status: 'done' });
    const e = await loadEnsembleDir(out);
    expect(e.members.map((m) => [m.id, m.layout])).toEqual([['000', '1.x'], ['001', '1.x']]);
    expect(e.members.every((m) => Number.isFinite(m.validationLoss))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, '000', '_meta.yaml'), 'utf8')).config.task.seed).toBe(SEED);
    await expectSameRun(join(out, '000'), direct(0));
    await expectSameRun(join(out, '001'), direct(1));

    const analysis = join(base, 'fri');
    const an = await ensemble('analyze', 'flashes', out, '--out', analysis, '--workers', '1', '--dt', '0.02');
    expect(an.stderr).toMatch(/2 networks of .*local/);
    expect(an.code).toBe(0);
    expect(readFileSync(join(analysis, 'fri.csv'), 'utf8').split('\n')[0]).toMatch(/^model,/);
    const bad = await ensemble('analyze', 'flashes', out, '--ensemble', out, '--out', join(base, 'x'));
    expect([bad.code, bad.stderr]).toEqual([2, 'flyvis ensemble analyze: --ensemble: the ensemble is ENSEMBLE_DIR; leave --ensemble out\n']);
    expect(existsSync(join(base, 'x'))).toBe(false);
  });
});

describe.skipIf(REDIS_SERVER === null)('flyvis ensemble train --queue with two workers', () => {
  let redis: RedisServer;
  const workers: Proc[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGINT');
    await Promise.all(workers.map((w) => w.exit));
    await redis?.stop();
  });

  it('a worker killed with SIGKILL mid-member: the other resumes the member, and every member equals flyvis train --seed S + k', async () => {
    const out = join(base, 'queued');
    for (let k = 0; k < 2; k++) workers.push(start(['worker', '--queue', redis.url, '--concurrency', '1', '--lock-seconds', '2']));
    for (const w of workers) await stderrMatches(w, /taking ensemble members/);
    const args = ['train', '--out', out, '--members', '2', '--seed', String(SEED), '--queue', redis.url, ...SMALL];
    const submit = await ensemble(...args);
    expect(submit.code, submit.stderr).toBe(0);
    // member 000 a few iterations in: kill its worker (the member saves its run and exits)
    await until(() => /iter ([3-9]|\d\d+)\/40/.test(existsSync(join(out, '.flyvis-ensemble', '000.log')) ? readFileSync(join(out, '.flyvis-ensemble', '000.log'), 'utf8') : ''), 'member 000 at iteration 3');
    const holder = claimOf(out, '000')!.pid;
    const killed = workers.find((w) => w.child.pid === holder)!;
    killed.child.kill('SIGKILL');
    expect(await killed.exit).toBe(null);
    const follow = await ensemble(...args, '--wait');
    expect(follow.code, follow.stderr).toBe(0);
    expect(lastJson(follow.stdout)).toMatchObject({ done: 2, failed: [], status: 'done' });
    expect([attempts(out, '000'), attempts(out, '001')]).toEqual([2, 1]);
    const resumed = lastAttempt(out, '000');
    expect(resumed).toMatch(/--resume\n/);
    expect(Number(/iterations (\d+)-40/.exec(resumed)![1])).toBeGreaterThan(3);
    await expectSameRun(join(out, '000'), direct(0));
    await expectSameRun(join(out, '001'), direct(1));
    expect((await loadEnsembleDir(out)).members.map((m) => m.id)).toEqual(['000', '001']);
  });
});
