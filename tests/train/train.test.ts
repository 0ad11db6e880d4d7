// The training step and loop: gradients through whole simulations (activity, states, currents;
// steady state included or not), projection after updates, determinism, resume from the
// training-state file, interrupts, non-finite losses, progress output.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Tensor, mean, noGrad, scalar, square, stack, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { clampBounds } from '../../src/init/index.ts';
import { Network } from '../../src/network/network.ts';
import {
  Progress, adam, edgeCurrents, initialCheckpoint, makeTrainStep, maskedMSE, networkProjection, readTrainState, sgd, simulateActivity,
  simulateStates, train, trainStatePath, writeTrainState,
} from '../../src/train/index.ts';

const net = Network.fromConnectome(demoConnectome(1));
const H = net.stimulus.nInputElements;
const dt = 0.02;
const movie = { data: Float32Array.from({ length: 2 * 4 * H }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.7)), shape: [2, 4, 1, H] };
const params64 = () => Object.fromEntries(Object.entries(net.trainableParams()).map(([k, t]) => [k, tensor(t.data, t.shape, 'float64')]));

/** Central finite difference of f along one coordinate of a float64 parameter. */
function finiteDiff(f: (p: Record<string, Tensor>) => Tensor, p: Record<string, Tensor>, name: string, i: number, h = 1e-5): number {
  const at = (d: number) => {
    const data = Float64Array.from(p[name]!.data);
    data[i]! += d;
    return noGrad(() => f({ ...p, [name]: tensor(data, p[name]!.shape) })).item();
  };
  return (at(h) - at(-h)) / (2 * h);
}

describe('losses over the network output', () => {
  const sim = { tPre: 0.1 };
  const activityLoss = (p: Record<string, Tensor>) => mean(square(simulateActivity(net, p, movie, dt, sim)));
  const currentsLoss = (p: Record<string, Tensor>) =>
    mean(square(stack(simulateStates(net, p, movie, dt, sim).map((s) => edgeCurrents(net, s, p)), 0)));
  const stateLoss = (p: Record<string, Tensor>) => sum(square(simulateStates(net, p, movie, dt, sim).at(-1)!.nodes.activity!));

  for (const [what, f] of [['activity', activityLoss], ['currents', currentsLoss], ['whole states', stateLoss]] as const) {
    it(`differentiates a loss over ${what} through the whole simulation (matches finite differences)`, () => {
      const p = params64();
      const { grads } = valueAndGrad(f)(p);
      for (const [name, i] of [['nodes_bias', 3], ['nodes_time_const', 5], ['edges_syn_strength', 2]] as const) {
        const fd = finiteDiff(f, p, name, i);
        expect(Math.abs(grads[name]!.data[i]! - fd)).toBeLessThan(1e-6 + 1e-4 * Math.abs(fd));
      }
    });
  }

  it('differentiates through the steady state only when asked', () => {
    const p = params64();
    const detached = (q: Record<string, Tensor>) => mean(square(simulateActivity(net, q, movie, dt, { tPre: 0.1, gradSteadyState: false })));
    const full = valueAndGrad(activityLoss)(p).grads.nodes_bias!.data;
    const part = valueAndGrad(detached)(p).grads.nodes_bias!.data;
    expect(Array.from(full)).not.toEqual(Array.from(part));
    expect(Math.abs(full[3]! - finiteDiff(activityLoss, p, 'nodes_bias', 3))).toBeLessThan(1e-6);
  });

  it('maskedMSE averages over recorded entries only', () => {
    const pred = tensor([1, 2, 3, 4], [1, 2, 2]);
    expect(maskedMSE(pred, { data: Float32Array.from([0, NaN, 3, 6]), shape: [1, 2, 2] }).item()).toBeCloseTo((1 + 0 + 4) / 3, 6);
    expect(() => maskedMSE(pred, { data: new Float32Array(4).fill(NaN), shape: [1, 2, 2] })).toThrow(/target: no recorded entries/);
    expect(() => maskedMSE(pred, { data: new Float32Array(4), shape: [4] })).toThrow(/target: expected shape \(1, 2, 2\) like the prediction, got \(4\)/);
  });
});

describe('training step and loop', () => {
  const target = noGrad(() => simulateActivity(net, net.trainableParams(), movie, dt, { tPre: 0.1 }));
  const shifted = () => Object.fromEntries(Object.entries(net.trainableParams()).map(([k, t]) => [k, tensor(t.data.map((x) => (k === 'nodes_bias' ? x + 0.1 : x)), t.shape)]));
  const loss = (p: Record<string, Tensor>) => maskedMSE(simulateActivity(net, p, movie, dt, { tPre: 0.1 }), target);

  it('is pure, projects into the valid range after every update, and lowers the loss', () => {
    const opt = sgd({ lr: 1e6 });
    const step = makeTrainStep({ loss, optimizer: opt, project: networkProjection(net) });
    const p = shifted();
    const copy = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, Array.from(t.data)]));
    const r = step(p, opt.init(p), null);
    expect(Object.fromEntries(Object.entries(p).map(([k, t]) => [k, Array.from(t.data)]))).toEqual(copy);
    expect(r.finite).toBe(true);
    // A huge step is projected back: strengths non-negative, time constants within their range.
    expect(r.params.edges_syn_strength!.data.every((x) => x >= 0)).toBe(true);
    for (const name of ['nodes_time_const', 'nodes_bias', 'edges_syn_strength']) {
      const [lo, hi] = clampBounds(net.parameters.byName.get(name)!.clamp);
      expect(r.params[name]!.data.every((x) => x >= lo && x <= hi), name).toBe(true);
    }
    expect(net.parameters.byName.get('edges_syn_strength')!.clamp.kind).toBe('non_negative');
    const good = makeTrainStep({ loss, optimizer: adam({ lr: 0.01 }), project: networkProjection(net) });
    let state = adam({ lr: 0.01 }).init(p);
    let q: Record<string, Tensor> = p;
    let first = NaN;
    let last = NaN;
    for (let i = 0; i < 5; i++) {
      const s = good(q, state, null);
      if (i === 0) first = s.loss;
      last = s.loss;
      q = s.params;
      state = s.state;
    }
    expect(last).toBeLessThan(first);
  });

  it('is deterministic and resumes exactly from the training-state file', async () => {
    const opt = adam({ lr: 0.01 });
    const step = makeTrainStep({ loss: (p, _b: number) => loss(p), optimizer: opt, project: networkProjection(net) });
    const run = (start = initialCheckpoint(shifted(), opt), iters = 8, onCheckpoint?: Parameters<typeof train>[0]['onCheckpoint']) =>
      train({ step, start, iters, batch: (i) => i, checkpointEvery: 3, ...(onCheckpoint ? { onCheckpoint } : {}) });
    const a = await run();
    const b = await run();
    expect(a.status).toBe('done');
    const flat = (r: typeof a) => Object.values(r.checkpoint!.params).flatMap((t) => Array.from(t.data));
    expect(flat(b)).toEqual(flat(a));
    const file = trainStatePath(join(mkdtempSync(join(tmpdir(), 'flyvis-train-')), 'fit.json'));
    expect(file.endsWith('fit.train.json')).toBe(true);
    const reasons: string[] = [];
    await run(undefined, 5, (c, reason) => {
      reasons.push(`${reason}@${c.iteration}`);
      writeTrainState(file, c, opt, { movie: 'x' });
    });
    expect(reasons).toEqual(['periodic@3', 'done@5']);
    const resumed = await run(readTrainState(file, opt, shifted(), { movie: 'x' }), 8);
    expect(flat(resumed)).toEqual(flat(a));
    expect(resumed.checkpoint!.losses).toEqual(a.checkpoint!.losses);
    expect(() => readTrainState(file, sgd({ lr: 1 }), shifted(), { movie: 'y' })).toThrow(
      /optimizer\.name: this run uses sgd, the file has "adam".*run\.movie: this run has "y", the file has "x"/,
    );
  });

  it('stops on a non-finite loss keeping the last good state, and on an interrupt', async () => {
    const opt = sgd({ lr: 0.1 });
    const p = { w: tensor([1]) };
    const step = makeTrainStep({ loss: (q, i: number) => (i === 3 ? scalar(NaN) : square(sum(q.w!))), optimizer: opt });
    const kept: number[] = [];
    const r = await train({ step, start: initialCheckpoint(p, opt), iters: 10, batch: (i) => i, onCheckpoint: (c) => kept.push(c.iteration) });
    expect(r.status).toBe('nonfinite');
    if (r.status !== 'nonfinite') return;
    expect(r.iteration).toBe(3);
    expect(r.checkpoint!.iteration).toBe(2); // the state whose loss (at iteration 2) was finite
    expect(r.checkpoint!.losses).toHaveLength(2);
    expect(kept).toEqual([2]);
    let polls = 0;
    const stopped = await train({ step, start: initialCheckpoint(p, opt), iters: 10, batch: () => 0, interrupted: () => ++polls > 2 });
    expect(stopped.status).toBe('interrupted');
    expect(stopped.checkpoint!.iteration).toBe(2);
  });
});

describe('progress', () => {
  it('prints lines when not a TTY and redraws in place on a TTY', () => {
    let clock = 0;
    let text = '';
    const pipe = new Progress({ total: 10, label: 'fit', intervalMs: 1000, now: () => clock, stream: { write: (s: string) => (text += s) } });
    for (let i = 1; i <= 10; i++) {
      clock += 300;
      pipe.update(i, 1 / i);
    }
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^fit: iter  1\/10  loss 1\.0000e\+0  300 ms\/it  left 2\.7s$/);
    expect(lines.at(-1)).toMatch(/^fit: iter 10\/10  loss 1\.0000e-1 .* left 0\.0s$/);
    expect(lines.length).toBeLessThan(10);
    text = '';
    const tty = new Progress({ total: 4, now: () => (clock += 200), stream: { isTTY: true, write: (s: string) => (text += s) } });
    for (let i = 1; i <= 4; i++) tty.update(i, 0.5);
    tty.finish();
    expect(text.split('\r')).toHaveLength(5);
    expect(text).toMatch(/\[#{20}\] iter 4\/4/);
    expect(text.endsWith('\n')).toBe(true);
  });
});
