// Every backend's fused simulation on flyvis's real extent-15 graph as the PyTorch anchor reads
// it (../shared/golden/arrays_extent15: edge endpoints, per-edge weights, per-node biases),
// against the js reference: 6 steps at batch 2, every state and the gradients w.r.t. the
// initial state, the input, bias, rate and the weights (one per run of equal weights), with the
// nodes placed on their lattice (cell type, u, v of flyvis's connectome at extent 15).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Tensor, mul, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { type BackendGraph, type BackendOptions, createBackend, listBackends, simulateScan } from '../../src/backends/index.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { makeActivation } from '../../src/kernels/activation.ts';
import { Network } from '../../src/network/network.ts';
import { CONNECTOME_FILE, hasShared, sharedPath } from '../helpers/shared.ts';

const read = <T>(file: string, C: new (b: ArrayBuffer) => T): T => {
  const b = readFileSync(sharedPath('golden', 'arrays_extent15', file));
  return new C(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function relMaxErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let mag = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    mag = Math.max(mag, Math.abs(ref[i]!));
  }
  return err / mag;
}

// wasm: one and two threads (a chunk boundary at 5 steps), and with what the backward pass needs
// on the host, over chunks of 4 steps
const others: { name: string; threads: number; options?: BackendOptions }[] = listBackends()
  .filter((b) => b.available && b.name !== 'js')
  .flatMap((b) => (b.name === 'wasm'
    ? [{ name: 'wasm', threads: 1 }, { name: 'wasm', threads: 2 }, { name: 'wasm', threads: 1, options: { residentBytes: 0, chunkSteps: 4 } }]
    : [{ name: b.name, threads: 1 }]));

describe.skipIf(!hasShared || others.length === 0)('every backend on arrays_extent15, against js', () => {
  it('every state and every gradient within 1e-5 (relative max error)', () => {
    const source = read('src.i32', Int32Array);
    const target = read('tgt.i32', Int32Array);
    const w = read('w.f32', Float32Array);
    const bias = read('bias.f32', Float32Array);
    const N = bias.length;
    // weight groups: runs of equal consecutive weights (one weight each)
    const index = new Int32Array(w.length);
    for (let e = 1; e < w.length; e++) index[e] = index[e - 1]! + (w[e] !== w[e - 1] ? 1 : 0);
    const G = index[w.length - 1]! + 1;
    const representative = new Int32Array(G);
    for (let e = w.length - 1; e >= 0; e--) representative[index[e]!] = e;
    const wg = Float32Array.from(representative, (e) => w[e]!);
    const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME_FILE, 15, 1), {}, { kernel: 'js' });
    expect(net.nNodes).toBe(N);
    const graph: BackendGraph = { nNodes: N, source, target, groups: { index, representative }, layout: net.backend.graph.layout!, activation: makeActivation('relu') };
    const B = 2;
    const T = 6;
    let seed = 99;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const inputs: Record<string, Tensor> = {
      v0: tensor(Float32Array.from({ length: B * N }, (_, i) => bias[i % N]!), [B, N]),
      x: tensor(Float32Array.from({ length: B * T * N }, rand), [B, T, N]),
      bias: tensor(bias.slice()),
      rate: tensor(new Float32Array(N).fill(0.02 / 0.05)),
      weight: tensor(wg),
    };
    const R = tensor(Float32Array.from({ length: B * T * N }, () => rand() - 0.5), [B, T, N]);
    const run = (name: string, threads: number, options: BackendOptions = {}) => {
      const instance = createBackend(name, graph, { threads, ...options });
      try {
        const sim = instance.fused('ppneuron')!;
        let states: ArrayLike<number> = [];
        const r = valueAndGrad((p: Record<string, Tensor>) => {
          const a = simulateScan(sim, p.v0!, p.x!, { bias: p.bias!, rate: p.rate!, weight: p.weight! }, 'all');
          states = a.data;
          return sum(mul(a, R));
        })(inputs);
        return { states, grads: r.grads };
      } finally {
        instance.dispose();
      }
    };
    const ref = run('js', 1);
    for (const { name, threads, options } of others) {
      const got = run(name, threads, options);
      const what = `${name} (${threads} thread${threads > 1 ? 's' : ''}${options ? `, ${JSON.stringify(options)}` : ''})`;
      expect(relMaxErr(got.states, ref.states), `${what}: states`).toBeLessThanOrEqual(1e-5);
      for (const k of Object.keys(inputs)) expect(relMaxErr(got.grads[k]!.data, ref.grads[k]!.data), `${what}: d/d${k}`).toBeLessThanOrEqual(1e-5);
    }
    net.dispose();
  });
});
