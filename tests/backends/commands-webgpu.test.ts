// The commands on the 'webgpu' backend (Dawn in Node, on its OpenGL ES backend over EGL: software
// here, so this checks values, never speed): `flyvis run`, `flyvis analyze flashes`, `flyvis fit`,
// `flyvis train --task flow` and `flyvis predict-flow` with --kernel webgpu write what they write
// with --kernel js; so does `flyvis analyze --ensemble`, whose worker threads start Dawn. Each runs as a user runs it (node bin/flyvis.mjs, the command starting Dawn),
// at small extents.
//
// Tolerances. Activity, FRI and flow: every value within 1e-5 of its column's largest magnitude
// (the GPU's float32 sums run in another order; measured ~1e-7). Training: the losses (and the
// logged activity and validation values) within 1e-5 relative; the parameters after K Adam steps of
// learning rate lr are compared with what float32 reduction order can change. Adam's step is
// lr * m / (sqrt(v) + eps), at most about lr whatever the gradient, so two runs can part by at
// most 2 K lr per entry (checked for every entry). A gradient summed in another order has a
// relative error of ~1e-6..1e-4 (sums over edges, steps and samples), which moves a step by as
// much times lr: so, per tensor, at least 90% of the entries are within 1e-3 K lr (measured: the
// bulk ~1e-6 K lr), where a wrong gradient moves most entries of its tensor by O(lr). The rest are
// entries whose true gradient vanishes: Adam scales their float32 rounding noise up to steps of
// up to lr either way (the flow decoder's first convolution bias, which batch norm in training
// mode cancels, is all such entries: only the bound applies to it; a time constant of the flow
// network at extent 1 measured 6e-3 K lr).
//
// Skipped, with the reason printed, where Dawn's prebuilt module or the EGL library it loads is
// absent; the prediction from flyvis's trained network where ../shared/flyvis is absent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { readHdf5Dataset } from '../../src/io/hdf5.ts';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { loadTorchFile } from '../../src/io/torch/node.ts';
import { type TorchDict, TorchTensor } from '../../src/io/torch/values.ts';
import { Network, type State } from '../../src/network/network.ts';
import { dawnMissing } from '../helpers/dawn.ts';
import { uniformNoise } from '../helpers/noise.ts';
import { PROJECT_DIR, sharedPath } from '../helpers/shared.ts';

if (dawnMissing) console.warn(`[flyvis-ts tests] skipping the commands on the webgpu backend: ${dawnMissing}`);
const PRETRAINED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
const hasPretrained = existsSync(join(PRETRAINED, '_meta.yaml'));
if (!dawnMissing && !hasPretrained) console.warn(`[flyvis-ts tests] skipping predict-flow on webgpu with a trained network: ${PRETRAINED} is absent`);

const FLYVIS = resolve(PROJECT_DIR, 'data', 'fib25-fib19_v2.2.json');
const KERNELS = ['webgpu', 'js'] as const;
type Kernel = (typeof KERNELS)[number];

/** `flyvis COMMAND ARGS --kernel KERNEL` as a user runs it; fails the test unless it exits 0. */
function flyvis(kernel: Kernel, command: string, ...args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', command, ...args, '--kernel', kernel], { cwd: PROJECT_DIR, encoding: 'utf8', timeout: 400_000 });
  expect(r.status, `flyvis ${command} --kernel ${kernel}: ${r.stderr}`).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Every value of `got` within `tol` times the largest |value| of `want`; returns the worst |difference| / that scale. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): number {
  expect(got.length, what).toBe(want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  expect(scale, `${what}: all zero`).toBeGreaterThan(0);
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]!), `${what}[${i}]`).toBe(true);
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scale);
  }
  expect(worst, `${what}: differs from js by ${worst.toExponential(2)} of its largest value`).toBeLessThanOrEqual(tol);
  return worst;
}

/** Each value within `tol` relative to itself (losses, logged means: positive, not near zero). */
function expectRelative(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.abs(want[i]!));
  }
}

/**
 * Parameters after `steps` Adam steps of learning rate `lr` (see the file comment): every entry within
 * 2 steps lr of js's, and per tensor 90% within 1e-3 steps lr (`noise`: tensors only the bound applies
 * to). The parameters moved (at least lr / 2 somewhere), so the comparison is not of untouched values.
 * Returns the largest difference outside `noise`, in units of steps x lr.
 */
function expectTrained(
  got: Readonly<Record<string, ArrayLike<number>>>,
  want: Readonly<Record<string, ArrayLike<number>>>,
  start: Readonly<Record<string, ArrayLike<number>>>,
  lr: number,
  steps: number,
  what: string,
  noise: readonly string[] = [],
): number {
  expect(Object.keys(got).sort(), what).toEqual(Object.keys(want).sort());
  let moved = 0;
  let worst = 0;
  for (const [k, w] of Object.entries(want)) {
    const g = got[k]!;
    expect(g.length, `${what}: ${k}`).toBe(w.length);
    let close = 0;
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs(g[i]! - w[i]!);
      expect(d, `${what}: ${k}[${i}] ${g[i]} vs js ${w[i]}`).toBeLessThanOrEqual(2 * steps * lr);
      if (d <= 1e-3 * steps * lr) close++;
      if (!noise.includes(k)) worst = Math.max(worst, d / (steps * lr));
      moved = Math.max(moved, Math.abs(w[i]! - start[k]![i]!));
    }
    if (!noise.includes(k)) expect(close / w.length, `${what}: ${k}: entries within 1e-3 x ${steps} x lr of js`).toBeGreaterThanOrEqual(0.9);
  }
  expect(moved, `${what}: the parameters moved`).toBeGreaterThanOrEqual(lr / 2);
  return worst;
}

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const lastJson = (stdout: string): Record<string, number> => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
const floats = (d: TorchDict): Record<string, Float32Array> =>
  Object.fromEntries([...d.entries()].filter(([, v]) => v instanceof TorchTensor && v.dtype === 'float32').map(([k, v]) => [k as string, (v as TorchTensor).data as Float32Array]));

describe.skipIf(dawnMissing !== null)('the commands on the webgpu backend (Dawn) write what they write on js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-commands-webgpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('flyvis run: the flash activity (flyvis connectome, extent 4)', () => {
    const args = ['--connectome', FLYVIS, '--extent', '4', '--dt', '0.02', '--t-pre', '0.2', '--grey', '0.1', '--on', '0.2', '--off', '0.2'];
    for (const k of KERNELS) flyvis(k, 'run', ...args, '--out-dir', join(dir, `run-${k}`));
    const [a, b] = KERNELS.map((k) => readNpy(join(dir, `run-${k}`, 'activity.npy')));
    expect(a!.shape).toEqual([1, 25, 3865]);
    expect(b!.shape).toEqual(a!.shape);
    const worst = expectClose(a!.data, b!.data, 1e-5, 'activity');
    // the flash moves the network: the central R1's activity is not constant
    const R = b!.data;
    expect(Math.abs(R[24 * 3865]! - R[0]!) + Math.abs(R[10 * 3865]! - R[0]!)).toBeGreaterThan(0);
    console.log(`[webgpu] flyvis run: activity within ${worst.toExponential(2)} of its largest value`);
  }, 300_000);

  it('flyvis analyze flashes: FRI, ON and OFF peaks per cell type and radius (extent 4)', () => {
    const args = ['flashes', '--connectome', FLYVIS, '--extent', '4', '--dt', '0.02', '--quiet'];
    for (const k of KERNELS) flyvis(k, 'analyze', ...args, '--out', join(dir, `fri-${k}`));
    const [a, b] = KERNELS.map((k) => json(join(dir, `fri-${k}`, 'fri.json')) as { columns: string[]; rows: (string | number)[][] });
    expect(a!.columns).toEqual(['cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
    expect(b!.columns).toEqual(a!.columns);
    expect(a!.rows.length).toBe(130); // 65 cell types x 2 radii
    expect(a!.rows.map((r) => r.slice(0, 2))).toEqual(b!.rows.map((r) => r.slice(0, 2)));
    const worst = [2, 3, 4].map((j) => expectClose(a!.rows.map((r) => r[j] as number), b!.rows.map((r) => r[j] as number), 1e-5, a!.columns[j]!));
    // every polarity the FRI predicts (a sign clearly away from zero) is the same
    a!.rows.forEach((r, i) => {
      if (Math.abs(b!.rows[i]![2] as number) > 1e-3) expect(Math.sign(r[2] as number), `${r[0]} ${r[1]}`).toBe(Math.sign(b!.rows[i]![2] as number));
    });
    console.log(`[webgpu] flyvis analyze flashes: FRI, on and off peaks within ${worst.map((w) => w.toExponential(2)).join(', ')} of their largest values`);
  }, 300_000);

  it('flyvis fit: 3 Adam iterations (flyvis connectome, extent 2): losses and fitted parameters', () => {
    const net = Network.fromConnectome(ConnectomeFromAvgFilters(FLYVIS, 2, 1), {}, { kernel: 'js' });
    const H = net.stimulus.nInputElements;
    const N = net.nNodes;
    const [B, T, dt] = [2, 5, 0.02];
    const movie = { data: uniformNoise(1, B * T * H), shape: [B, T, 1, H] };
    // the target: a scaled, perturbed activity of the initial network, a third of it not recorded
    const act = net.simulate(movie, dt, { initialState: net.steadyState(0.1, dt, B) as State }) as { data: Float32Array };
    const jitter = uniformNoise(2, B * T * N, -0.05, 0.05);
    const target = act.data.map((v, i) => (i % 3 === 0 ? NaN : 1.1 * v + jitter[i]!));
    writeFileSync(join(dir, 'movie.npy'), encodeNpy(movie.data, movie.shape));
    writeFileSync(join(dir, 'target.npy'), encodeNpy(target, [B, T, N]));
    const start = net.stateDict();
    const [lr, iters] = [1e-3, 3];
    const args = ['--connectome', FLYVIS, '--extent', '2', '--movie', join(dir, 'movie.npy'), '--target', join(dir, 'target.npy'), '--dt', String(dt),
      '--t-pre', '0.1', '--iters', String(iters), '--lr', String(lr), '--checkpoint-every', '0', '--progress-every', '0'];
    const out = KERNELS.map((k) => lastJson(flyvis(k, 'fit', ...args, '--out', join(dir, `fit-${k}.json`)).stdout));
    expect(out[0]).toMatchObject({ status: 'done', iteration: 3 });
    expectRelative([out[0]!.initial_loss!, out[0]!.final_loss!], [out[1]!.initial_loss!, out[1]!.final_loss!], 1e-5, 'initial and final loss');
    const [la, lb] = KERNELS.map((k) => json(join(dir, `fit-${k}.train.json`)).losses as number[]);
    expect(lb!.length).toBe(3);
    expect(lb![2]).toBeLessThan(lb![0]!); // it fits
    expectRelative(la!, lb!, 1e-5, 'losses');
    const [pa, pb] = KERNELS.map((k) => json(join(dir, `fit-${k}.json`)) as Record<string, number[]>);
    const worst = expectTrained(pa!, pb!, start, lr, iters, 'fitted parameters');
    console.log(`[webgpu] flyvis fit: losses within 1e-5, parameters within ${worst.toExponential(2)} x iterations x lr of js`);
    net.dispose();
  }, 300_000);

  it('flyvis train --task flow: 2 iterations (extent 1): logs, validation and the checkpointed network and decoder', async () => {
    const lr = 1e-4;
    const args = ['--task', 'flow', '--connectome', FLYVIS, '--extent', '1', '--train-items', '4', '--val-items', '2', '--batch-size', '2', '--iters', '2',
      '--checkpoint-every', '1', '--lr', `${lr}:${lr}`, '--progress-every', '0'];
    const out = KERNELS.map((k) => lastJson(flyvis(k, 'train', ...args, '--out', join(dir, `train-${k}`)).stdout));
    expect(out[0]).toMatchObject({ status: 'done', iteration: 2, checkpoints: 3 });
    expectRelative([out[0]!.val_epe!, out[0]!.val_loss!], [out[1]!.val_epe!, out[1]!.val_loss!], 1e-5, 'last validation EPE and loss');
    for (const f of ['loss.h5', 'loss_flow.h5', 'activity.h5', 'activity_max.h5', join('validation', 'loss.h5'), join('validation', 'epe.h5')]) {
      const [a, b] = await Promise.all(KERNELS.map((k) => readHdf5Dataset(join(dir, `train-${k}`, f))));
      expect(b!.values.length, f).toBe(f.startsWith('validation') ? 3 : 2);
      expectRelative(a!.values, b!.values, 1e-5, f);
    }
    const chkpt = (k: Kernel, i: number) => loadTorchFile(join(dir, `train-${k}`, 'chkpts', `chkpt_0000${i}`)) as TorchDict;
    const first = chkpt('js', 0);
    for (const part of ['network', 'decoder'] as const) {
      const pick = (d: TorchDict) => floats(part === 'network' ? (d.get('network') as TorchDict) : ((d.get('decoder') as TorchDict).get('flow') as TorchDict));
      // batch norm's running statistics are no Adam parameters: the batch's statistics, logged as the activity is
      const stats = (p: Record<string, Float32Array>) => Object.fromEntries(Object.entries(p).filter(([k]) => !k.includes('running_')));
      const worst = expectTrained(stats(pick(chkpt('webgpu', 2))), stats(pick(chkpt('js', 2))), stats(pick(first)), lr, 2, `chkpt_00002 ${part}`, ['base.0.bias']);
      console.log(`[webgpu] flyvis train: ${part} parameters within ${worst.toExponential(2)} x iterations x lr of js (base.0.bias aside)`);
      for (const k of Object.keys(pick(first)).filter((n) => n.includes('running_'))) {
        expectClose(pick(chkpt('webgpu', 2))[k]!, pick(chkpt('js', 2))[k]!, 1e-5, `chkpt_00002 decoder ${k}`);
      }
    }
  }, 400_000);

  it.skipIf(!hasPretrained)("flyvis analyze flashes --ensemble: the members' worker threads start Dawn (flyvis's best trained network, extent 4)", () => {
    const args = ['flashes', '--ensemble', dirname(PRETRAINED), '--best', '1', '--workers', '1', '--extent', '4', '--dt', '0.02', '--quiet'];
    for (const k of KERNELS) flyvis(k, 'analyze', ...args, '--out', join(dir, `ens-${k}`));
    const [a, b] = KERNELS.map((k) => json(join(dir, `ens-${k}`, 'fri.json')) as { columns: string[]; rows: (string | number)[][] });
    expect(a!.columns).toEqual(['model', 'cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
    expect(a!.rows.map((r) => r.slice(0, 3))).toEqual(b!.rows.map((r) => r.slice(0, 3)));
    expect(a!.rows.length).toBe(130);
    for (const j of [3, 4, 5]) expectClose(a!.rows.map((r) => r[j] as number), b!.rows.map((r) => r[j] as number), 1e-5, a!.columns[j]!);
  }, 300_000);

  it.skipIf(!hasPretrained)("flyvis predict-flow: flyvis's trained network 0000 and its decoder (extent 4)", () => {
    const H = 61;
    writeFileSync(join(dir, 'movie4.npy'), encodeNpy(uniformNoise(3, 2 * 6 * H), [2, 6, 1, H]));
    const args = ['--extent', '4', '--params', PRETRAINED, '--movie', join(dir, 'movie4.npy'), '--dt', '0.02'];
    for (const k of KERNELS) flyvis(k, 'predict-flow', ...args, '--out', join(dir, `flow-${k}.npy`));
    const [a, b] = KERNELS.map((k) => readNpy(join(dir, `flow-${k}.npy`)));
    expect(a!.shape).toEqual([2, 6, 2, H]);
    expect(b!.shape).toEqual(a!.shape);
    const worst = expectClose(a!.data, b!.data, 1e-5, 'flow');
    console.log(`[webgpu] flyvis predict-flow: flow within ${worst.toExponential(2)} of its largest value`);
  }, 300_000);
});
