// flyvis's solver for the flow task (src/task/solver.ts, train-*.ts): the scheduler's arrays as
// numpy computes them, when the scheduler runs, the activity penalty, the epoch's batches, the
// checkpoint dict (torch's Adam / SGD state_dict layout), the loop's checkpoints and logs, and a
// run stopped and resumed from its saved state ending exactly where an uninterrupted run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/autograd/index.ts';
import { ProceduralFlow } from '../../src/datasets/flow/procedural.ts';
import { readTorchFile, writeTorchFile } from '../../src/io/torch/index.ts';
import { TorchDict, TorchTensor, TorchTuple } from '../../src/io/torch/values.ts';
import { Network } from '../../src/network/network.ts';
import { initDecoder } from '../../src/task/decoder.ts';
import {
  SolverConfigError, batchIndicesAt, ctime, defaultSolverConfig, epochOrder, flyvisCheckpointDict, initialTrainState, makeFlowSolver,
} from '../../src/task/solver.ts';
import { activityPenalizedParams, activityPenalty, asymmetricWeighting } from '../../src/task/train-penalty.ts';
import { type FlowRun, datasetValidationSet, emptyHistory, trainFlow } from '../../src/task/train-loop.ts';
import { readRunState, runStateText, writeRunState } from '../../src/task/train-results.ts';
import { ScheduleConfigError, buildSchedules, epochValue, linspace, scheduledAt } from '../../src/task/train-schedule.ts';

const lr = { function: 'stepwise', start: 5e-5, stop: 5e-6, steps: 10 };

describe("flyvis's HyperParamScheduler", () => {
  it('stepwise, linear and exponential arrays equal numpy (values from numpy 1.24)', () => {
    // np.linspace(5e-5, 5e-6, 10).repeat(25 / 10) padded with stop to n_iters + 1
    const s = buildSchedules({ lr_net: lr }, 25).lr_net!;
    const two = (x: number) => [x, x];
    expect([...s.array]).toEqual([
      ...two(5e-5), ...two(4.5e-5), ...two(4e-5), ...two(3.5e-5), ...two(3e-5), ...two(2.5e-5), ...two(1.9999999999999998e-5), ...two(1.4999999999999999e-5),
      ...two(9.999999999999999e-6), ...two(5e-6), 5e-6, 5e-6, 5e-6, 5e-6, 5e-6, 5e-6,
    ]);
    // fewer iterations than steps: numpy repeats 0 times, every value is stop
    expect([...buildSchedules({ lr_net: lr }, 6).lr_net!.array]).toEqual(Array(7).fill(5e-6));
    const ex = buildSchedules({ x: { function: 'exponential', start: 1, stop: 0.1, steps: 3 } }, 5).x!.array;
    [1.0, 0.6309573444801945, 0.3981071705534988, 0.2511886431509595, 0.1584893192461126, 0.1].forEach((v, i) => expect(ex[i]).toBeCloseTo(v, 15));
    expect([...buildSchedules({ x: { function: 'linear', start: 0.3, stop: 0.1, steps: 3 }, sched_stop_iter: 4 }, 5).x!.array]).toEqual([
      0.3, 0.23333333333333334, 0.16666666666666666, 0.1, 0.1, 0.1,
    ]);
    expect([...linspace(5e-5, 5e-6, 10)]).toEqual([5e-5, 4.5e-5, 4e-5, 3.5e-5, 3e-5, 2.5e-5, 1.9999999999999998e-5, 1.4999999999999999e-5, 9.999999999999999e-6, 5e-6]);
  });

  it('entries that are no SchedulerFunction are skipped; bad ones are named', () => {
    expect(Object.keys(buildSchedules(defaultSolverConfig().scheduler as never, 100))).toEqual(['lr_net', 'lr_dec', 'lr_pen', 'dt']);
    expect(() => buildSchedules({ lr_net: { ...lr, function: 'cosine' } }, 10)).toThrow(/scheduler\.lr_net\.function: expected one of linear, stepwise/);
    expect(() => buildSchedules({ lr_net: { ...lr, steps: 0 } }, 10)).toThrow(ScheduleConfigError);
  });

  it('a value per epoch (the epoch start), the last value past the end', () => {
    const s = buildSchedules({ lr_net: lr }, 100).lr_net!; // 10 iterations per stage
    expect(epochValue(s, 9, 4)).toBe(scheduledAt(s, 8)); // epoch 2 starts at 8: the first stage
    expect(epochValue(s, 12, 4)).toBe(4.5e-5);
    expect(scheduledAt(s, 100)).toBe(5e-6);
    expect(scheduledAt(s, 5000)).toBe(5e-6); // past stop_iter
  });
});

describe('the activity penalty', () => {
  it("flyvis's formula on the central cells after the first quarter of the frames", () => {
    // 1 sample, 4 frames, 3 nodes; central cells 0 and 2
    const a = tensor(Float32Array.from([9, 0, 1, 9, 0, 3, 2, 0, 5, 4, 0, 7]), [1, 4, 3]);
    const cfg = { activity_baseline: 5, activity_penalty: 0.1, stop_iter: null, below_baseline_penalty_weight: 1, above_baseline_penalty_weight: 0.1 };
    // frames 1..3: node 0 mean (9 + 2 + 4) / 3 = 5 -> 0; node 2 mean (3 + 5 + 7) / 3 = 5 -> 0
    expect(activityPenalty(a, Int32Array.of(0, 2), cfg).item()).toBe(0);
    const b = tensor(Float32Array.from([0, 0, 2, 0, 0, 8]), [1, 2, 3]); // frames 0..1 (T // 4 = 0): means 0 and 5
    expect(activityPenalty(b, Int32Array.of(0, 2), cfg).item()).toBeCloseTo(0.1 * ((5 * 1) ** 2 + 0) / 2, 6);
    const c = tensor(Float32Array.from([9, 0, 9, 9, 0, 9]), [1, 2, 3]); // above the baseline by 4: weight 0.1
    expect(activityPenalty(c, Int32Array.of(0, 2), cfg).item()).toBeCloseTo(0.1 * (0.1 * 4) ** 2, 6);
    expect([...asymmetricWeighting(tensor(Float32Array.of(2, -2)), 1, 0.1).data].map((x) => Math.round(x * 1e6) / 1e6)).toEqual([2, -0.2]);
    expect(activityPenalizedParams(new Network({ connectome: { type: 'ConnectomeFromAvgFilters', file: 'demo', extent: 1 } }).config as never)).toEqual(['nodes_bias']);
  });
});

describe('solver setup, batches and the checkpoint dict', () => {
  const net = new Network({ connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 1, n_syn_fill: 1 } });
  const { decoder, params } = initDecoder(defaultSolverConfig().task.decoder.flow, net.connectome);
  const config = (over: Partial<ReturnType<typeof defaultSolverConfig>['task']> = {}) => {
    const c = defaultSolverConfig();
    return { ...c, task: { ...c.task, n_iters: 30, ...over } };
  };

  it('epochs of floor(items / batch) iterations over a permutation; the scheduler runs at epoch starts and checkpoints', () => {
    const solver = makeFlowSolver(config(), net, decoder, { trainItems: 10, checkpointEvery: 5 });
    expect(solver.epochLength).toBe(2); // 10 items, batches of 4, the last 2 dropped
    const order = epochOrder(10, 3, 1);
    expect([...order].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    expect(batchIndicesAt(solver, 10, 3, 2)).toEqual(order.slice(0, 4));
    expect(batchIndicesAt(solver, 10, 3, 3)).toEqual(order.slice(4, 8));
    expect(epochOrder(10, 3, 2)).not.toEqual(order);
    // lr stages of 3 iterations (30 / 10); runs at 0, 2, 4, 5 (checkpoint), 6, 8, 10 ...
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => solver.scheduleAnchor(i))).toEqual([0, 0, 2, 2, 4, 5, 6, 6]);
    expect(solver.valueAt('lr_net', 5)).toBe(4.5e-5); // array[5]: the second stage
    expect(solver.valueAt('lr_net', 4)).toBe(4.5e-5); // array[4]
    expect(solver.valueAt('lr_net', 3)).toBe(5e-5); // array[2]
    expect(solver.checkpointEvery).toBe(5);
    expect(makeFlowSolver(config(), net, decoder, { trainItems: 10 }).checkpointEvery).toBe(600); // 300 epochs
  });

  it('bad configs are refused naming the field', () => {
    expect(() => makeFlowSolver(config(), net, decoder, { trainItems: 3 })).toThrow(/the training set has 3 items, fewer than the batch size 4/);
    const c = config();
    expect(() => makeFlowSolver({ ...c, scheduler: { ...c.scheduler, dt: { ...c.scheduler.dt, stop: 0.01 } } }, net, decoder, { trainItems: 8 })).toThrow(SolverConfigError);
    expect(() => makeFlowSolver({ ...c, optim: { ...c.optim, type: 'SGD' as never } }, net, decoder, { trainItems: 8 })).toThrow(/optim\.type: expected Adam/);
  });

  it("the checkpoint dict: flyvis's keys, torch 1.13's Adam and SGD state_dicts, the masked decoder", () => {
    const solver = makeFlowSolver(config(), net, decoder, { trainItems: 8 });
    const s0 = initialTrainState(solver, net.trainableParams(), params);
    const empty = flyvisCheckpointDict(solver, s0, 1.5, new Date(2024, 0, 2, 3, 4, 5));
    expect([...empty.keys()]).toEqual(['network', 'decoder', 'optim', 'time', 'val_loss', 'iteration', 'dt', 'activity_optim']);
    expect(empty.get('time')).toBe('Tue Jan  2 03:04:05 2024');
    expect(empty.get('iteration')).toBe(-1n); // flyvis: self.iteration - 1 before training
    const optim = empty.get('optim') as TorchDict;
    expect((optim.get('state') as TorchDict).size).toBe(0);
    const groups = optim.get('param_groups') as TorchDict[];
    expect(groups.map((g) => g.get('params'))).toEqual([[0n, 1n, 2n, 3n, 4n], [5n, 6n, 7n, 8n, 9n, 10n]]);
    expect([...groups[0]!.keys()]).toEqual(['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused', 'params']);
    expect((groups[0]!.get('betas') as TorchTuple).items).toEqual([0.9, 0.999]);
    // after 2 steps: state for the trainable parameters (not edges_sign 2, edges_syn_count 3)
    const m = (p: Readonly<Record<string, { size: number }>>) => Object.fromEntries(Object.entries(p).map(([k, t]) => [k, new Float32Array(t.size).fill(0.5)]));
    const trained = {
      ...s0, iteration: 2,
      optimNet: { step: 2, slots: { m: m(s0.network), v: m(s0.network) } },
      optimDec: { step: 2, slots: { m: m(Object.fromEntries(decoder.parameterNames.map((k) => [k, params[k]!]))), v: m(Object.fromEntries(decoder.parameterNames.map((k) => [k, params[k]!]))) } },
      optimPen: { step: 2, slots: {} },
    };
    const back = readTorchFile(writeTorchFile(flyvisCheckpointDict(solver, trained, 0.25, new Date())), 'chkpt') as TorchDict;
    const state = (back.get('optim') as TorchDict).get('state') as TorchDict;
    expect([...state.keys()]).toEqual([0n, 1n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    const s5 = state.get(5n) as TorchDict;
    expect((s5.get('step') as TorchTensor).data[0]).toBe(2);
    expect((s5.get('exp_avg') as TorchTensor).shape).toEqual([8, 34, 5, 5]);
    expect((state.get(4n) as TorchDict).get('exp_avg_sq')).toBeInstanceOf(TorchTensor);
    const pen = back.get('activity_optim') as TorchDict;
    expect([...(pen.get('state') as TorchDict).entries()]).toEqual([[0n, new TorchDict([['momentum_buffer', null]])]]);
    expect(((pen.get('param_groups') as TorchDict[])[0]!).get('lr')).toBe(solver.valueAt('lr_pen', 2));
    expect(back.get('val_loss')).toBe(0.25);
    expect(back.get('iteration')).toBe(1n);
    const netDict = back.get('network') as TorchDict;
    expect([...netDict.keys()]).toEqual(['nodes_bias', 'nodes_time_const', 'edges_sign', 'edges_syn_count', 'edges_syn_strength']);
    const flow = ((back.get('decoder') as TorchDict).get('flow')) as TorchDict;
    const w = (flow.get('base.0.weight') as TorchTensor).data;
    expect(w[0]).toBe(0); // kernel corner (0, 0): masked
    expect(w[2]).toBeCloseTo(0.001, 9);
    expect(ctime(new Date(1970, 0, 1, 0, 0, 0))).toBe('Thu Jan  1 00:00:00 1970');
  });
});

describe('the training loop', () => {
  const extent = 1;
  const net = new Network({ connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent, n_syn_fill: 1 } });
  const { decoder, params } = initDecoder(defaultSolverConfig().task.decoder.flow, net.connectome);
  const train = new ProceduralFlow({ split: 'train', nSequences: 8, extent, frames: 4, seed: 1 });
  const validation = datasetValidationSet(new ProceduralFlow({ split: 'validation', nSequences: 2, extent, frames: 4, seed: 1 }));
  const c = defaultSolverConfig();
  const solver = makeFlowSolver({ ...c, task: { ...c.task, n_iters: 5 } }, net, decoder, { trainItems: 8, checkpointEvery: 2 });
  const fresh = (): FlowRun => ({ state: initialTrainState(solver, net.trainableParams(), params), epochStart: net.trainableParams(), history: emptyHistory() });
  const description = { test: 'loop' };

  it('checkpoints at the start, every N and at the end; a stopped and resumed run ends where an uninterrupted one does', async () => {
    const dicts: TorchDict[] = [];
    const whole = await trainFlow({ solver, train, validation, start: fresh(), seed: 3, onCheckpoint: (_r, d) => void dicts.push(d) });
    expect(whole.status).toBe('done');
    const h = whole.run.history;
    expect(h.checkpoints.map((r) => [r.index, r.iteration])).toEqual([[0, 0], [1, 2], [2, 4], [3, 5]]);
    expect(dicts.map((d) => d.get('iteration'))).toEqual([-1n, 1n, 3n, 4n]);
    expect(h.loss.length).toBe(5);
    expect(h.loss.every(Number.isFinite) && h.penalty.every(Number.isFinite)).toBe(true);
    expect(h.checkpoints.every((r) => Number.isFinite(r.valLoss) && Number.isFinite(r.valEpe) && r.valEpe > 0)).toBe(true);
    // the parameters move
    expect(whole.run.state.network.nodes_bias!.data).not.toEqual(net.trainableParams().nodes_bias!.data);

    // stop after 3 iterations, save, read back, continue
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-solver-'));
    try {
      let done = 0;
      const part = await trainFlow({
        solver, train, validation, start: fresh(), seed: 3, interrupted: () => done >= 3, onIteration: (d) => void (done = d),
        onStop: (r) => writeRunState(dir, solver, r, description),
      });
      expect(part.status).toBe('interrupted');
      expect(part.run.state.iteration).toBe(3);
      const templates = { network: net.trainableParams(), decoder: params };
      const back = readRunState(join(dir, 'flyvis-ts-train-state.json'), solver, templates, description);
      expect(runStateText(solver, back, description)).toBe(runStateText(solver, part.run, description));
      const rest = await trainFlow({ solver, train, validation, start: back, seed: 3 });
      expect(rest.status).toBe('done');
      const a = whole.run;
      const b = rest.run;
      for (const k of Object.keys(a.state.network)) expect(b.state.network[k]!.data, k).toEqual(a.state.network[k]!.data);
      for (const k of Object.keys(a.state.decoder)) expect(b.state.decoder[k]!.data, k).toEqual(a.state.decoder[k]!.data);
      expect(b.history.loss).toEqual(a.history.loss);
      expect(b.history.checkpoints.map((r) => [r.valLoss, r.valEpe])).toEqual(a.history.checkpoints.map((r) => [r.valLoss, r.valEpe]));
      // another run's state is refused, naming what differs
      expect(() => readRunState(join(dir, 'flyvis-ts-train-state.json'), solver, templates, { test: 'other' })).toThrow(/test: this run has "other", the saved run "loop"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
