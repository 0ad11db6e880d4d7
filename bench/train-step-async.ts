// What the asynchronous path costs a training iteration: the synchronous step (makeTrainStep over
// simulateActivity, flowTrainStep: what `flyvis fit` and `flyvis train` ran before they moved to
// the network's asynchronous methods) against the asynchronous one they run now
// (makeTrainStepAsync over simulateActivityAsync, flowTrainStepAsync: valueAndGradAsync,
// simulateScanAsync), on the same network, batch and parameters, alternating (sync, async,
// async, sync, ...) so a shared machine's load falls on both alike. Both give the same values bit
// for bit on a backend that reads back synchronously (checked here on the first pair).
//
//   npx tsx bench/train-step-async.ts [--extent E] [--repeats R] [--kernel NAME] [--fit-frames T] [--no-flow]
//
// Prints one JSON object: per task, the median ms per iteration of each and their ratio.
import '../src/platform-node.ts';
import type { Tensor } from '../src/autograd/index.ts';
import { ConnectomeFromAvgFilters } from '../src/graph/index.ts';
import { Network } from '../src/network/network.ts';
import { dropoutRng, epochInitialState, flowTrainStep, flowTrainStepAsync } from '../src/task/solver.ts';
import {
  type StepResult, adam, makeTrainStep, makeTrainStepAsync, maskedMSE, networkProjection, simulateActivity, simulateActivityAsync,
} from '../src/train/index.ts';
import { flowStepSetup } from './flow-train-step.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const extent = Number(arg('extent', '15'));
const repeats = Number(arg('repeats', '4'));
const kernel = arg('kernel', 'auto');
const fitFrames = Number(arg('fit-frames', '50'));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Times `sync` and `async` alternately (ABBA), `repeats` times each; checks their first results agree. */
async function compare(sync: () => { loss: number }, async: () => Promise<{ loss: number }>, same: (a: unknown, b: unknown) => boolean) {
  const times = { sync: [] as number[], async: [] as number[] };
  let first: [unknown, unknown] | null = null;
  for (let r = 0; r < repeats; r++) {
    for (const which of r % 2 === 0 ? (['sync', 'async'] as const) : (['async', 'sync'] as const)) {
      const t = performance.now();
      const out = which === 'sync' ? sync() : await async();
      times[which].push(performance.now() - t);
      if (r === 0) first = which === 'sync' ? [out, first?.[1]] : [first?.[0], out];
    }
  }
  if (!same(first![0], first![1])) throw new Error('the synchronous and asynchronous steps differ');
  const s = median(times.sync);
  const a = median(times.async);
  return { sync_ms: Math.round(s * 10) / 10, async_ms: Math.round(a * 10) / 10, async_over_sync: Math.round((a / s) * 1000) / 1000, repeats };
}

const sameStep = (a: unknown, b: unknown): boolean => {
  const x = a as StepResult;
  const y = b as StepResult;
  return x.loss === y.loss && Object.keys(x.params).every((k) => x.params[k]!.data.every((v, i) => v === y.params[k]!.data[i]));
};

// flyvis fit: grey t-pre 0.2 s then a (2, fitFrames) movie at dt 1/50, masked MSE, Adam, clamp
const net = Network.fromConnectome(ConnectomeFromAvgFilters('data/fib25-fib19_v2.2.json', extent, 1), {}, { kernel });
const H = net.stimulus.nInputElements;
const B = 2;
const movie = { data: Float32Array.from({ length: B * fitFrames * H }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37)), shape: [B, fitFrames, 1, H] };
const target = { data: new Float32Array(B * fitFrames * net.nNodes).fill(0.1), shape: [B, fitFrames, net.nNodes] };
const optimizer = adam({ lr: 1e-3 });
const sim = { tPre: 0.2 };
const params = net.trainableParams();
const state = optimizer.init(params);
const syncFit = makeTrainStep({ loss: (p) => maskedMSE(simulateActivity(net, p, movie, 0.02, sim), target), optimizer, project: networkProjection(net) });
const asyncFit = makeTrainStepAsync({ loss: async (p) => maskedMSE(await simulateActivityAsync(net, p, movie, 0.02, sim), target), optimizer, project: networkProjection(net) });
const fit = await compare(() => syncFit(params, state, undefined), () => asyncFit(params, state, undefined), sameStep);

let flow: Record<string, number> | undefined;
if (!process.argv.includes('--no-flow')) {
  // flyvis train --task flow: a batch of 4 procedural movies, the decoder, the activity penalty
  const { solver, batch, state: s0 } = flowStepSetup(extent);
  const initial = epochInitialState(solver, s0.network);
  flow = await compare(
    () => flowTrainStep(solver, s0, batch, initial, dropoutRng(0, 0)),
    () => flowTrainStepAsync(solver, s0, batch, initial, dropoutRng(0, 0)),
    (a, b) => {
      const x = a as { loss: number; state: { network: Record<string, Tensor> } };
      const y = b as typeof x;
      return x.loss === y.loss && Object.keys(x.state.network).every((k) => x.state.network[k]!.data.every((v, i) => v === y.state.network[k]!.data[i]));
    },
  );
}
console.log(JSON.stringify({ extent, backend: net.backend.backend, kernel: net.backend.kernelName, fit: { batch: B, frames: fitFrames, t_pre: sim.tPre, ...fit }, ...(flow ? { flow } : {}) }));
