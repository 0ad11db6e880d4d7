// Plans (src/train/plan.ts): computations over a network's simulations written once and run either
// on the synchronous methods (runPlan, valueAndGrad) or the asynchronous ones (runPlanAsync,
// valueAndGradAsync). What the commands run on every backend, here on a backend that reads back
// only asynchronously (js made so, as webgpu is: tests/helpers/async-readback.ts), equals the
// synchronous library functions on js, bit for bit: the analyses' responses, the fit step
// (simulateActivityAsync, makeTrainStepAsync, detached t-pre too), the flow task's step,
// epoch state, validation and loop; the synchronous forms refuse that backend naming the
// asynchronous method. Also: a call's error is thrown into the plan (its finally blocks run).
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/autograd/index.ts';
import { computeResponses, computeResponsesAsync } from '../../src/analysis/responses.ts';
import { flowBatch } from '../../src/datasets/flow/batch.ts';
import { ProceduralFlow } from '../../src/datasets/flow/procedural.ts';
import { Network, NetworkError, type State } from '../../src/network/network.ts';
import { Flashes } from '../../src/stimuli/datasets.ts';
import { initDecoder } from '../../src/task/decoder.ts';
import {
  augmentRng, batchIndicesAt, defaultSolverConfig, dropoutRng, epochInitialState, epochInitialStateAsync, flowTrainStep, flowTrainStepAsync, initialTrainState,
  makeFlowSolver, validateFlow, validateFlowAsync,
} from '../../src/task/solver.ts';
import { datasetValidationSet, emptyHistory, trainFlow } from '../../src/task/train-loop.ts';
import {
  adam, initialCheckpoint, makeTrainStep, makeTrainStepAsync, maskedMSE, networkProjection, simulateActivity, simulateActivityAsync, train,
} from '../../src/train/index.ts';
import { planSimulate, planSteadyState, runPlan, runPlanAsync } from '../../src/train/plan.ts';
import { readBackAsynchronously } from '../helpers/async-readback.ts';
import { uniformNoise } from '../helpers/noise.ts';

const DT = 0.02;
const CONFIG = { connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 1, n_syn_fill: 1 } } as const;
/** flyvis's network at extent 1 on the js backend; `asyncOnly`: reading back only asynchronously. */
function network(asyncOnly = false): { net: Network; calls: { forward: number; backwardAsync: number } } {
  const net = new Network(CONFIG, { kernel: 'js' });
  return { net, calls: asyncOnly ? readBackAsynchronously(net) : { forward: 0, backwardAsync: 0 } };
}

const bits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): void => {
  expect(a.length, what).toBe(b.length);
  expect(Array.from(a), what).toEqual(Array.from(b));
};
const sameParams = (a: Readonly<Record<string, Tensor>>, b: Readonly<Record<string, Tensor>>, what: string): void => {
  expect(Object.keys(a), what).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) bits(a[k]!.data, b[k]!.data, `${what}: ${k}`);
};

describe('plans', () => {
  it('runPlan and runPlanAsync give the same values; an error of a call is thrown into the plan', async () => {
    const { net } = network();
    const H = net.stimulus.nInputElements;
    const movie = { data: uniformNoise(1, 2 * 5 * H), shape: [2, 5, 1, H] };
    function* plan() {
      const s = yield* planSteadyState(net, 0.1, DT, 2);
      return (yield* planSimulate(net, movie, DT, { initialState: s })) as Tensor;
    }
    const a = runPlan(plan());
    const b = await runPlanAsync(plan());
    expect(a.shape).toEqual([2, 5, net.nNodes]);
    bits(a.data, b.data, 'activity');
    // a wrong movie: the network's error reaches the plan (caught there, or through its finally)
    let cleaned = 0;
    function* failing() {
      try {
        yield* planSimulate(net, { data: new Float32Array(3), shape: [1, 1, 1, 3] }, DT);
        return 'not reached';
      } catch (e) {
        return `caught ${(e as Error).name}`;
      } finally {
        cleaned++;
      }
    }
    expect(runPlan(failing())).toBe('caught NetworkError');
    expect(await runPlanAsync(failing())).toBe('caught NetworkError');
    function* uncaught() {
      try {
        yield* planSimulate(net, { data: new Float32Array(3), shape: [1, 1, 1, 3] }, DT);
      } finally {
        cleaned++;
      }
    }
    expect(() => runPlan(uncaught())).toThrow(NetworkError);
    await expect(runPlanAsync(uncaught())).rejects.toThrow(NetworkError);
    expect(cleaned).toBe(4);
  });
});

describe('on a backend that reads back only asynchronously, the asynchronous forms equal the synchronous ones on js', () => {
  it('computeResponsesAsync (flashes; computeResponses names the asynchronous method there)', async () => {
    const ref = network().net;
    const { net, calls } = network(true);
    const dataset = () => new Flashes({ extent: 1, dt: DT, tPre: 0.2, tStim: 0.2 });
    const options = { dt: DT, batchSize: 2, tPre: 0.2 };
    expect(() => computeResponses(net, dataset(), options)).toThrow(/use await network\.steadyStateAsync/);
    const want = computeResponses(ref, dataset(), options);
    const got = await computeResponsesAsync(net, dataset(), options);
    // the steady state, then each batch of two as one simulation on the primitive (the synchronous
    // call above was refused before simulating)
    expect(calls.forward).toBe(1 + 2);
    expect(got.neurons).toEqual(want.neurons);
    expect(got.traces.length).toBe(4);
    got.traces.forEach((t, i) => bits(t, want.traces[i]!, `item ${i}`));
    // the flash moves the central cells: traces are not constant
    expect(Math.max(...want.traces[0]!) - Math.min(...want.traces[0]!)).toBeGreaterThan(1e-3);
  });

  it('the fit step: makeTrainStepAsync over simulateActivityAsync (t-pre differentiated or not) equals makeTrainStep over simulateActivity', async () => {
    const ref = network().net;
    const { net, calls } = network(true);
    const H = net.stimulus.nInputElements;
    const N = net.nNodes;
    const B = 2;
    const T = 4;
    const movie = { data: uniformNoise(2, B * T * H), shape: [B, T, 1, H] };
    const targetData = uniformNoise(3, B * T * N, -0.5, 0.5);
    for (let i = 0; i < targetData.length; i += 3) targetData[i] = NaN; // not recorded
    const target = { data: targetData, shape: [B, T, N] };
    for (const gradSteadyState of [true, false]) {
      const sim = { tPre: 0.1, gradSteadyState };
      const optimizer = adam({ lr: 0.01 });
      const sync = makeTrainStep({ loss: (p) => maskedMSE(simulateActivity(ref, p, movie, DT, sim), target), optimizer, project: networkProjection(ref) });
      const async = makeTrainStepAsync({ loss: async (p) => maskedMSE(await simulateActivityAsync(net, p, movie, DT, sim), target), optimizer, project: networkProjection(net) });
      expect(() => simulateActivity(net, net.trainableParams(), movie, DT, sim)).toThrow(/use await network\.steadyStateAsync/);
      const want = await train({ step: sync, start: initialCheckpoint(ref.trainableParams(), optimizer), iters: 2, batch: () => undefined });
      const got = await train({ step: async, start: initialCheckpoint(net.trainableParams(), optimizer), iters: 2, batch: () => undefined });
      expect(got.status).toBe('done');
      expect(got.checkpoint!.losses, `losses (gradSteadyState ${gradSteadyState})`).toEqual(want.checkpoint!.losses);
      expect(want.checkpoint!.losses[1]).not.toBe(want.checkpoint!.losses[0]);
      sameParams(got.checkpoint!.params, want.checkpoint!.params, `parameters (gradSteadyState ${gradSteadyState})`);
      const [mGot, mWant] = [got.checkpoint!.optimizerState.slots.m!, want.checkpoint!.optimizerState.slots.m!];
      for (const k of Object.keys(mWant)) bits(mGot[k]!, mWant[k]!, `adam m: ${k}`);
    }
    expect(calls.backwardAsync).toBeGreaterThan(0);
  });

  it("the flow task: epoch state, training step (penalty on), validation and the loop", async () => {
    const ref = network().net;
    const { net, calls } = network(true);
    const { decoder, params: decoderParams } = initDecoder(defaultSolverConfig().task.decoder.flow, net.connectome);
    const c = defaultSolverConfig();
    const config = { ...c, task: { ...c.task, n_iters: 2 } };
    const trainSet = new ProceduralFlow({ split: 'train', nSequences: 4, extent: 1, frames: 4, seed: 1 });
    const validation = datasetValidationSet(new ProceduralFlow({ split: 'validation', nSequences: 2, extent: 1, frames: 4, seed: 1 }));
    const solverR = makeFlowSolver(config, ref, decoder, { trainItems: 4, checkpointEvery: 0 });
    const solverA = makeFlowSolver(config, net, decoder, { trainItems: 4, checkpointEvery: 0 });
    expect(solverA.optimPen).not.toBeNull(); // flyvis's default: the activity penalty on nodes_bias
    const state = initialTrainState(solverR, ref.trainableParams(), decoderParams);
    expect(() => epochInitialState(solverA, state.network)).toThrow(/steadyStateAsync/);
    const initR = epochInitialState(solverR, state.network);
    const initA = await epochInitialStateAsync(solverA, state.network);
    bits(initA!.nodes.activity!.data, initR!.nodes.activity!.data, 'epoch state');
    const batch = flowBatch(trainSet, batchIndicesAt(solverR, 4, 0, 0), augmentRng(0, 0)); // the loop's first batch
    const want = flowTrainStep(solverR, state, batch, initR as State, dropoutRng(0, 0));
    const got = await flowTrainStepAsync(solverA, state, batch, initA as State, dropoutRng(0, 0));
    expect(got.finite).toBe(true);
    expect([got.loss, got.penalty, got.gradNorm, got.activityMean]).toEqual([want.loss, want.penalty, want.gradNorm, want.activityMean]);
    expect(Number.isFinite(want.penalty)).toBe(true);
    sameParams(got.state.network, want.state.network, 'network after the step');
    sameParams(got.state.decoder, want.state.decoder, 'decoder after the step');
    const vOptions = { dt: DT, tPre: 0.25, chunk: 1 };
    const vWant = validateFlow(ref, want.state.network, decoder, want.state.decoder, validation, vOptions);
    const vGot = await validateFlowAsync(net, want.state.network, decoder, want.state.decoder, validation, vOptions);
    bits(vGot.l2norm, vWant.l2norm, 'validation l2norm');
    bits(vGot.epe, vWant.epe, 'validation epe');
    // the loop (asynchronous throughout) on both: the same run
    const run = async (solver: typeof solverA) =>
      trainFlow({ solver, train: trainSet, validation, seed: 0, start: { state, epochStart: state.network, history: emptyHistory() } });
    const a = await run(solverA);
    const r = await run(solverR);
    expect(a.status).toBe('done');
    expect(a.run.history.loss).toEqual(r.run.history.loss);
    expect(a.run.history.loss[0]).toBe(want.loss);
    expect(a.run.history.checkpoints.map((k) => [k.valLoss, k.valEpe])).toEqual(r.run.history.checkpoints.map((k) => [k.valLoss, k.valEpe]));
    sameParams(a.run.state.network, r.run.state.network, 'network after the loop');
    expect(calls.backwardAsync).toBeGreaterThan(0);
  });
});
