// The network against flyvis's reference outputs (../shared/golden): steady state, flash
// response and gradients at extents 2 and 15, with the tolerances golden/README.md states, for a
// network built from flyvis's default config with no checkpoint (its parameters equal the
// golden params.json bit for bit; loading that checkpoint changes nothing).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tensor, indexSelect, square, sum, valueAndGrad } from '../../src/autograd/index.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { listKernels } from '../../src/kernels/index.ts';
import { listBackends } from '../../src/backends/index.ts';
import { Network, type State } from '../../src/network/network.ts';
import { CONNECTOME_FILE, hasShared, sharedPath } from '../helpers/shared.ts';

interface Golden {
  n_nodes: number;
  dt: number;
  cell_types: string[];
  central_cells_index: Record<string, number>;
  steady_state_central: number[];
  flash_response_central: number[][];
  grad_loss: number;
  grad: { bias: number[]; time_const: number[]; syn_strength: number[] };
}

const f32 = (file: string): Float32Array => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

/** Float32 values whose bits differ (at most the first 5, as readable lines; [] when all equal). */
const bitDifferences = (actual: ArrayLike<number>, expected: ArrayLike<number>): string[] => {
  if (actual.length !== expected.length) return [`${actual.length} values, expected ${expected.length}`];
  const out: string[] = [];
  for (let i = 0; i < expected.length && out.length < 5; i++) {
    if (!Object.is(actual[i], expected[i])) out.push(`[${i}] ${actual[i]} != ${expected[i]}`);
  }
  return out;
};

/** Flash movie per frame: frames 0-4 at 0.5, 5-14 at 1.0, 15-24 at 0.0. */
const FLASH = Array.from({ length: 25 }, (_, t) => (t < 5 ? 0.5 : t < 15 ? 1.0 : 0.0));

// The goldens hold on every backend and whichever synapse kernel runs: 'auto' (what users get),
// the backends by name, and every available kernel name (the js backend running scatter, csr,
// runs or gpujs; the wasm backend on two threads), all at extent 2, all but the slow gpu.js one
// (on a CPU backend here) at extent 15.
const availableKernels = new Set(listKernels().filter((k) => k.available).map((k) => k.name));
const backends = listBackends().filter((b) => b.available).map((b) => b.name);
const names = ['auto', ...backends, ...['wasm-threads', 'scatter', 'csr', 'runs', 'gpujs'].filter((k) => availableKernels.has(k as never) && !backends.includes(k))];
const runs = [2, 15].flatMap((extent) => names.filter((k) => extent === 2 || k !== 'gpujs').map((kernel) => ({ extent, kernel })));

for (const { extent, kernel } of runs) {
  describe.skipIf(!hasShared)(`network golden, extent ${extent}, kernel ${kernel}`, () => {
    let net: Network;
    let golden: Golden;
    let central: Int32Array;
    let steady: State;
    const paramsFile = sharedPath('golden', `extent${extent}`, 'params.json');

    afterAll(() => net.dispose());

    beforeAll(() => {
      golden = JSON.parse(readFileSync(sharedPath('golden', `extent${extent}`, 'golden.json'), 'utf8')) as Golden;
      net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME_FILE, extent, 1), {}, { kernel });
      central = Int32Array.from(golden.cell_types.map((t) => golden.central_cells_index[t]!));
    });

    it("starts from flyvis's default parameters, bit for bit, with no checkpoint", () => {
      const reference = JSON.parse(readFileSync(paramsFile, 'utf8')) as Record<string, number[]>;
      expect(net.parameters.parameters.map((p) => p.stateDictName)).toEqual(Object.keys(reference));
      for (const p of net.parameters.parameters) expect(bitDifferences(p.raw, reference[p.stateDictName]!), p.stateDictName).toEqual([]);
    });

    it('reaches the reference steady state after 1 s of grey', () => {
      steady = net.steadyState(1.0, golden.dt, 1)!;
      const v = steady.nodes.activity!;
      expect(v.shape).toEqual([1, golden.n_nodes]);
      expect(maxAbsDiff(v.data, f32(sharedPath('golden', `extent${extent}`, 'steady_state.f32')))).toBeLessThan(2e-5);
      expect(maxAbsDiff(Array.from(central, (i) => v.data[i]!), golden.steady_state_central)).toBeLessThan(2e-5);
    });

    it('responds to a flash as the reference does', () => {
      net.stimulus.zero(1, FLASH.length);
      net.stimulus.addPreStim(FLASH);
      const act = net.forward(net.stimulus.call(), golden.dt, { state: steady });
      expect(act.shape).toEqual([1, 25, golden.n_nodes]);
      const N = golden.n_nodes;
      const centralTrace = golden.flash_response_central.flatMap((_, t) => Array.from(central, (i) => act.data[t * N + i]!));
      expect(maxAbsDiff(centralTrace, golden.flash_response_central.flat())).toBeLessThan(2e-5);
      const last = act.data.subarray(24 * N, 25 * N);
      expect(maxAbsDiff(last, f32(sharedPath('golden', `extent${extent}`, 'flash_last_frame.f32')))).toBeLessThan(2e-5);
    });

    it('gives the reference gradients of the stated loss', () => {
      net.stimulus.zero(1, FLASH.length);
      net.stimulus.addPreStim(FLASH);
      const x = { data: net.stimulus.call().data.slice(), shape: [1, 25, golden.n_nodes] };
      const loss = (p: Record<string, Tensor>): Tensor => sum(square(indexSelect(net.forward(x, golden.dt, { params: p }), central, 2)));
      const { value, grads } = valueAndGrad(loss)(net.trainableParams());
      expect(Object.keys(grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
      expect(Math.abs(value.data[0]! - golden.grad_loss) / golden.grad_loss).toBeLessThan(1e-5);
      expect(relL2(grads.nodes_bias!.data, golden.grad.bias)).toBeLessThan(1e-4);
      expect(relL2(grads.nodes_time_const!.data, golden.grad.time_const)).toBeLessThan(1e-4);
      expect(relL2(grads.edges_syn_strength!.data, golden.grad.syn_strength)).toBeLessThan(1e-4);
    });

    it("keeps the same values when flyvis's checkpoint is loaded", () => {
      const before = net.parameters.parameters.map((p) => p.raw.slice());
      net.loadCheckpoint(paramsFile);
      net.parameters.parameters.forEach((p, i) => expect(bitDifferences(p.raw, before[i]!), p.stateDictName).toEqual([]));
    });
  });
}
