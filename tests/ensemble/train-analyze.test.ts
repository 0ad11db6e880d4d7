// `flyvis ensemble train` (members are `flyvis train --task flow` runs with seed S + k, each a
// flyvis 1.x results directory) and `flyvis ensemble analyze` (analyze --ensemble over them).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnsembleDir, loadNetworkDir } from '../../src/results/index.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-ensemble-train-'));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const SMALL = ['--task', 'flow', '--connectome', 'fib25-fib19_v2.2.json', '--extent', '1', '--train-items', '8', '--val-items', '2', '--iters', '3', '--checkpoint-every', '0'];

describe('flyvis ensemble train and analyze', () => {
  it('trains members as flyvis train --seed S + k into a loadable ensemble, then analyses it', async () => {
    const base = tmp();
    const out = join(base, 'flow');
    const r = run('ensemble', 'train', '--out', out, '--members', '2', '--jobs', '2', '--seed', '3', ...SMALL);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ done: 2, status: 'done' });
    const ensemble = await loadEnsembleDir(out);
    expect(ensemble.members.map((m) => [m.id, m.layout])).toEqual([['000', '1.x'], ['001', '1.x']]);
    expect(ensemble.members.every((m) => Number.isFinite(m.validationLoss))).toBe(true);
    // Member 001 is `flyvis train --seed 4`: the same parameters.
    const direct = join(base, 'direct');
    expect(run('train', ...SMALL, '--seed', '4', '--out', direct).code).toBe(0);
    const [a, b] = [await ensemble.loadNetwork('001'), await loadNetworkDir(direct)];
    expect(a.checkpointIndex).toBe(b.checkpointIndex);
    for (const [k, v] of Object.entries(b.network.stateDict())) expect(Array.from(a.network.stateDict()[k]!), k).toEqual(Array.from(v));
    expect(JSON.parse(readFileSync(join(out, '000', '_meta.yaml'), 'utf8')).config.task.seed).toBe(3);

    const analysis = join(base, 'fri');
    const an = run('ensemble', 'analyze', 'flashes', out, '--out', analysis, '--workers', '1');
    expect(an.stderr).toMatch(/2 networks of .*flow/);
    expect(an.code).toBe(0);
    expect(readFileSync(join(analysis, 'fri.csv'), 'utf8').split('\n')[0]).toMatch(/^model,/);
    const bad = run('ensemble', 'analyze', 'flashes', out, '--ensemble', out, '--out', join(base, 'x'));
    expect([bad.code, bad.stderr]).toEqual([2, 'flyvis ensemble analyze: --ensemble: the ensemble is ENSEMBLE_DIR; leave --ensemble out\n']);
    expect(existsSync(join(base, 'x'))).toBe(false);
  });
});
