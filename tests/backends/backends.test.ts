// Backends (src/backends): the registry and name resolution, and every backend against the js
// reference on random connectomes (fast-check): forward activity and the gradients of a random
// readout with respect to the parameters, the initial state and the input, through the fused
// simulation primitive and through the generic per-step path; the float64 scan against central
// finite differences; the wasm backend across chunk boundaries and with non-finite states.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Tensor, mul, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import {
  type Backend, type FusedSimulator, type ScanForward, type ScanRequest, acceptedNames, createBackend, jsBackend, listBackends, registerBackend,
  resolveBackend, simulateScan,
} from '../../src/backends/index.ts';
import { compileConnectome, demoConnectome } from '../../src/graph/index.ts';
import { paddedLayout } from '../../src/backends/wasm-layout.ts';
import { ACTIVATION_NAMES } from '../../src/kernels/activation.ts';
import { Network } from '../../src/network/network.ts';
import { arbitraryConnectomeSpec } from '../../src/testing/check-dynamics.ts';

const available = new Set(listBackends().filter((b) => b.available).map((b) => b.name));
const hasWasm = available.has('wasm');
/** Every way to run a simulation here, by the name `kernel` takes; 'scatter' (js) is the reference. */
const NAMES = ['js', 'csr', 'runs', ...(hasWasm ? ['wasm', 'wasm-threads'] : [])];

/**
 * |a - b| <= tol * max |b| (+ a tiny absolute floor), element by element. Where `exact` (the same
 * computation in float64) is given, a value outside that bound passes when a is no further from
 * the exact value than 8 times the float32 reference b is: a gradient that is a sum with heavy
 * cancellation can lose more than tol of its size to either float32 order of rounding.
 */
function expectClose(what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, exact?: () => ArrayLike<number>): void {
  expect(a.length, what).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  const bound = tol * scale + 1e-9;
  let e: ArrayLike<number> | undefined;
  for (let i = 0; i < b.length; i++) {
    if (Math.abs(a[i]! - b[i]!) <= bound) continue;
    e ??= exact?.();
    if (e !== undefined && Math.abs(a[i]! - e[i]!) <= 8 * Math.abs(b[i]! - e[i]!)) continue;
    expect.fail(`${what}[${i}] = ${a[i]} but the reference gives ${b[i]} (tolerance ${bound}${e ? `; float64: ${e[i]}` : ''})`);
  }
}

describe('the backend registry', () => {
  it('lists js and wasm, resolves backend and kernel names, and names every choice for an unknown one', () => {
    const info = listBackends();
    expect(info.map((b) => b.name)).toEqual(expect.arrayContaining(['js', 'wasm']));
    expect(info.find((b) => b.name === 'js')).toMatchObject({ available: true, models: ['ppneuron'] });
    expect(resolveBackend('auto').backend.name).toBe(hasWasm ? 'wasm' : 'js');
    expect(resolveBackend('csr')).toMatchObject({ backend: { name: 'js' }, options: { kernel: 'csr' } });
    if (hasWasm) expect(resolveBackend('wasm-threads')).toMatchObject({ backend: { name: 'wasm' }, options: { kernel: 'wasm-threads' } });
    expect(acceptedNames()).toEqual(expect.arrayContaining(['auto', 'js', 'wasm', 'scatter', 'csr', 'runs', 'gpujs', 'wasm-threads']));
    expect(() => resolveBackend('quantum')).toThrow(/unknown kernel 'quantum' \(available: auto, .*js.*scatter, csr/);
  });

  it("says which backend 'auto' picked and which kernel runs the synapses", () => {
    const c = compileConnectome(demoSpec(), 2, 1);
    const auto = Network.fromConnectome(c);
    expect(auto.backend.backend).toBe(hasWasm ? 'wasm' : 'js');
    const js = Network.fromConnectome(c, {}, { kernel: 'js' });
    expect(js.backend).toMatchObject({ backend: 'js' });
    expect(['runs', 'csr']).toContain(js.backend.kernelName);
    expect(Network.fromConnectome(c, {}, { kernel: 'scatter' }).backend).toMatchObject({ backend: 'js', kernelName: 'scatter' });
    auto.dispose();
  });

  it('takes backends registered by users (here one delegating to js), by name, never for auto', () => {
    const echo: Backend = { name: 'echo-test', kernels: [], available: () => ({ ok: true }), create: (g, o) => jsBackend.create(g, o) };
    registerBackend(echo);
    expect(resolveBackend('auto').backend.name).not.toBe('echo-test');
    const c = compileConnectome(demoSpec(), 1, 1);
    const a = Network.fromConnectome(c, {}, { kernel: 'echo-test' });
    const b = Network.fromConnectome(c, {}, { kernel: 'js' });
    const x = tensor(Float32Array.from({ length: 3 * a.nNodes }, (_, i) => (i % 5) / 5), [1, 3, a.nNodes]);
    expect(Array.from(a.forward(x, 0.02).data)).toEqual(Array.from(b.forward(x, 0.02).data));
  });
});

/** A small fixed connectome spec (the first the generator makes for seed 1). */
function demoSpec() {
  return fc.sample(arbitraryConnectomeSpec(), { seed: 1, numRuns: 1 })[0]!;
}

interface Scenario {
  spec: ReturnType<typeof demoSpec>;
  extent: number;
  batch: number;
  frames: number;
  activation: string;
  seed: number;
  givenState: boolean;
  chunk: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  spec: arbitraryConnectomeSpec(),
  extent: fc.integer({ min: 0, max: 4 }),
  batch: fc.integer({ min: 1, max: 3 }),
  frames: fc.integer({ min: 0, max: 6 }),
  activation: fc.constantFrom(...ACTIVATION_NAMES),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 2 }),
  givenState: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 4 }),
});

interface Run {
  activity: Float32Array;
  grads: Record<string, Float32Array>;
}

/** Activity and the gradients of sum(activity * readout) w.r.t. parameters, initial state and input. */
function simulate(s: Scenario, kernel: string, explicitEuler = false, dtype: 'float32' | 'float64' = 'float32'): Run {
  const connectome = compileConnectome(s.spec, s.extent, 1);
  const net = Network.fromConnectome(connectome, { dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: s.activation } } }, {
    kernel, explicitEuler, chunkSteps: s.chunk,
  });
  try {
    return simulateOn(net, s, dtype);
  } finally {
    net.dispose();
  }
}

/** The same run in float64 (the js backend: the same float32 inputs, exact arithmetic), as floats. */
const simulate64 = (s: Scenario) => (): Run => simulate(s, 'scatter', false, 'float64');

function simulateOn(net: Network, s: Scenario, dtype: 'float32' | 'float64' = 'float32'): Run {
  {
    const t = (values: Float32Array, shape: number[]): Tensor => (dtype === 'float64' ? tensor(Float64Array.from(values), shape, 'float64') : tensor(values, shape));
    let rng = s.seed;
    const rand = (): number => ((rng = (Math.imul(rng, 48271) % 2147483647 + 2147483647) % 2147483647) / 2147483647);
    const N = net.nNodes;
    const { batch: B, frames: T } = s;
    const params: Record<string, Tensor> = {};
    for (const p of net.parameters.parameters) {
      if (p.trainable) params[p.stateDictName] = t(Float32Array.from(p.raw, (x) => x * (0.7 + 0.6 * rand()) + 0.05 * (rand() - 0.5)), [p.raw.length]);
    }
    const x = t(Float32Array.from({ length: B * T * N }, () => 2 * rand() - 0.5), [B, T, N]);
    const v0 = t(Float32Array.from({ length: B * N }, () => rand() - 0.5), [B, N]);
    const readout = t(Float32Array.from({ length: B * T * N }, () => rand() - 0.5), [B, T, N]);
    let activity: Float32Array = new Float32Array(0);
    const loss = (p: Record<string, Tensor>): Tensor => {
      const { x: xp, v0: vp, ...rest } = p;
      const state = s.givenState ? { nodes: { activity: vp! }, edges: {} } : null;
      const a = net.forward(xp!, 0.02, { params: rest, state });
      activity = Float32Array.from(a.data);
      return sum(mul(a, readout));
    };
    const { grads } = valueAndGrad(loss)({ ...params, x, v0 });
    return { activity, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.data)])) };
  }
}

function expectRunsAgree(what: string, got: Run, ref: Run, exact?: () => Run): void {
  let e: Run | undefined;
  const once = (): Run => (e ??= exact!());
  expectClose(`${what} activity`, got.activity, ref.activity, 1e-5, exact && (() => once().activity));
  for (const k of Object.keys(ref.grads)) expectClose(`${what} d/d${k}`, got.grads[k]!, ref.grads[k]!, 1e-5, exact && (() => once().grads[k]!));
}

describe('every backend agrees with the js reference (scatter kernel) on random connectomes', () => {
  it.each(NAMES)('%s: activity and gradients, fused path', (name) => {
    fc.assert(
      fc.property(scenario, (s) => expectRunsAgree(name, simulate(s, name), simulate(s, 'scatter'), simulate64(s))),
      { numRuns: name === 'wasm-threads' ? 8 : 15 },
    );
  });

  it.each(NAMES)('%s: the generic per-step path agrees with the fused one', (name) => {
    fc.assert(
      fc.property(scenario, (s) => expectRunsAgree(`${name} generic`, simulate(s, name, true), simulate(s, name), simulate64(s))),
      { numRuns: name === 'wasm-threads' ? 5 : 10 },
    );
  });
});

describe('the scan primitive in float64 (js) against central finite differences', () => {
  it('for the initial state, the input, bias, rate and weight', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const connectome = compileConnectome(s.spec, Math.min(s.extent, 2), 1);
        const net = Network.fromConnectome(connectome, { dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: s.activation } } }, { kernel: 'js' });
        const sim = net.backend.fused('ppneuron')!;
        const graph = net.backend.graph;
        let rng = s.seed;
        const rand = (): number => ((rng = (Math.imul(rng, 48271) % 2147483647 + 2147483647) % 2147483647) / 2147483647);
        const N = net.nNodes;
        const G = graph.groups!.representative.length;
        const B = s.batch;
        const T = Math.max(1, s.frames);
        const f64 = (n: number, f: () => number): Tensor => tensor(Float64Array.from({ length: n }, f), [n], 'float64');
        const inputs: Record<string, Tensor> = {
          v0: tensor(Float64Array.from({ length: B * N }, () => rand() - 0.5), [B, N], 'float64'),
          x: tensor(Float64Array.from({ length: B * T * N }, () => rand()), [B, T, N], 'float64'),
          bias: f64(N, () => rand() - 0.5),
          rate: f64(N, () => 0.2 + 0.6 * rand()),
          weight: f64(G, () => 2 * rand() - 1),
        };
        const record = s.givenState ? 'all' : 'last';
        const R = tensor(Float64Array.from({ length: record === 'all' ? B * T * N : B * N }, () => rand() - 0.5), record === 'all' ? [B, T, N] : [B, N], 'float64');
        const loss = (p: Record<string, Tensor>): Tensor =>
          sum(mul(simulateScan(sim, p.v0!, p.x!, { bias: p.bias!, rate: p.rate!, weight: p.weight! }, record), R));
        const { grads } = valueAndGrad(loss)(inputs);
        for (const name of Object.keys(inputs)) {
          const t = inputs[name]!;
          for (let c = 0; c < 3 && t.size > 0; c++) {
            const i = Math.floor(rand() * t.size);
            const at = (d: number): number => {
              const data = Float64Array.from(t.data);
              data[i]! += d;
              return loss({ ...inputs, [name]: tensor(data, t.shape, 'float64') }).data[0]!;
            };
            const h = 1e-6;
            const fd = (at(h) - at(-h)) / (2 * h);
            const g = grads[name]!.data[i]!;
            // relu, leakyrelu: a kink within h of an input is possible but vanishingly rare
            expect(Math.abs(g - fd), `d/d${name}[${i}]: ${g} vs finite differences ${fd}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(fd)));
          }
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe.skipIf(!hasWasm)('the wasm backend', () => {
  it('lets non-finite states through (allowNonFinite) exactly where the js reference has them', () => {
    const c = compileConnectome(demoSpec(), 3, 1);
    const run = (kernel: string): Float32Array => {
      const net = Network.fromConnectome(c, {}, { kernel, chunkSteps: 2 });
      const N = net.nNodes;
      const x = new Float32Array(2 * 5 * N).fill(0.3);
      x[(1 * 5 + 2) * N + Math.floor(N / 2)] = Number.NaN; // sample 1, frame 2
      const a = net.forward({ data: x, shape: [2, 5, N] }, 0.02, { allowNonFinite: true }).data as Float32Array;
      net.dispose();
      return a;
    };
    const w = run('wasm');
    const j = run('scatter');
    expect(w.some(Number.isNaN)).toBe(true);
    expect(Array.from(w, Number.isNaN)).toEqual(Array.from(j, Number.isNaN));
    expectClose('finite activity', w.map((v) => (Number.isNaN(v) ? 0 : v)), j.map((v) => (Number.isNaN(v) ? 0 : v)));
  });

  it('reports the first non-finite step as the step-by-step solver does', () => {
    const c = compileConnectome(demoSpec(), 2, 1);
    const message = (kernel: string): string => {
      const net = Network.fromConnectome(c, {}, { kernel });
      const N = net.nNodes;
      const x = new Float32Array(6 * N).fill(0.3);
      x[3 * N + 1] = Number.POSITIVE_INFINITY;
      try {
        net.forward({ data: x, shape: [1, 6, N] }, 0.02);
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      } finally {
        net.dispose();
      }
    };
    expect(message('wasm')).toMatch(/simulation input: x\[0, 3, 1\]/);
    expect(message('wasm')).toBe(message('js'));
  });

  it('refuses bad chunk sizes and use after dispose', () => {
    const c = compileConnectome(demoSpec(), 1, 1);
    expect(() => Network.fromConnectome(c, {}, { kernel: 'wasm', chunkSteps: 0 })).toThrow(/chunkSteps: expected a positive integer, got 0/);
    const net = Network.fromConnectome(c, {}, { kernel: 'wasm' });
    net.dispose();
    const x = tensor(new Float32Array(2 * net.nNodes), [1, 2, net.nNodes]);
    expect(() => net.forward(x, 0.02)).toThrow(/wasm backend: used after dispose\(\)/);
  });

  it('runs the js backend for what it does not run itself (float64)', () => {
    const c = compileConnectome(demoSpec(), 1, 1);
    const net = Network.fromConnectome(c, {}, { kernel: 'wasm' });
    const sim = net.backend.fused('ppneuron')!;
    const inputs = { bias: new Float64Array(net.nNodes), rate: new Float64Array(net.nNodes), weight: new Float64Array(1) };
    expect(sim.supports({ dtype: 'float64', inputs })).toBe(false);
    const x = tensor(new Float64Array(2 * net.nNodes).fill(0.5), [1, 2, net.nNodes], 'float64');
    const p = Object.fromEntries(Object.entries(net.paramTensors()).map(([k, t]) => [k, tensor(Float64Array.from(t.data), t.shape, 'float64')]));
    const a = net.forward(x, 0.02, { params: p });
    expect(a.dtype).toBe('float64');
    net.dispose();
  });
});

describe.skipIf(!hasWasm)("the wasm backend's memory between forward and backward passes", () => {
  // Recorded simulations called directly on the fused simulators (so that forward and backward
  // passes can interleave), wasm against js; each one's d stays in wasm memory until its backward.
  const net = Network.fromConnectome(demoConnectome(3), {}, { kernel: 'js' });
  const graph = net.backend.graph;
  const N = graph.nNodes;
  const G = graph.groups!.representative.length;
  const js = createBackend('js', graph, { kernel: 'scatter' }).fused('ppneuron')!;
  const request = (seed: number, B: number, T: number, record: 'all' | 'last' = 'all'): ScanRequest => {
    let r = seed;
    const rand = (): number => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    return {
      batch: B, steps: T, dtype: 'float32', record, save: true,
      v0: Float32Array.from({ length: B * N }, () => rand() - 0.5),
      x: Float32Array.from({ length: B * T * N }, () => 2 * rand() - 0.5),
      inputs: {
        bias: Float32Array.from({ length: N }, () => rand() - 0.5),
        rate: Float32Array.from({ length: N }, () => 0.1 + 0.5 * rand()),
        weight: Float32Array.from({ length: G }, () => rand() - 0.45),
      },
    };
  };
  const gOut = (q: ScanRequest): Float32Array => Float32Array.from({ length: q.record === 'all' ? q.batch * q.steps * N : q.batch * N }, (_, i) => ((i * 37) % 23) / 23 - 0.5);
  const needs = { v0: true, x: true, inputs: { bias: true, rate: true, weight: true } };
  const expectSame = (what: string, sim: FusedSimulator, q: ScanRequest, fwd: ScanForward): void => {
    const ref = js.forward(q);
    expectClose(`${what}: output`, fwd.output.read(), ref.output.read());
    const got = sim.backward(q, fwd, gOut(q), needs);
    const want = js.backward(q, ref, gOut(q), needs);
    expectClose(`${what}: d/dv0`, got.v0!, want.v0!);
    expectClose(`${what}: d/dx`, got.x!, want.x!);
    for (const k of ['bias', 'rate', 'weight']) expectClose(`${what}: d/d${k}`, got.inputs[k]!, want.inputs[k]!);
  };

  it.each([1, 2])('backward passes in any order, after the buffers grew, and with no memory to keep d in (%i threads), equal js', (threads) => {
    const instance = createBackend('wasm', graph, { threads });
    const sim = instance.fused('ppneuron')!;
    try {
      // two recorded simulations, backward passes in reverse order, then in order
      const a = request(1, 2, 7);
      const b = request(2, 3, 5, 'last');
      const fa = sim.forward(a);
      const fb = sim.forward(b);
      expectSame('second of two, first', sim, b, fb);
      expectSame('first of two, second', sim, a, fa);
      const c = request(3, 1, 4);
      const fc = sim.forward(c);
      const fd = sim.forward(request(4, 1, 4)); // takes the slot that a's backward freed
      expectSame('first of two, first', sim, c, fc);
      void fd;
      // a longer simulation grows the chunk buffers: what one still awaiting its backward kept moves to the host
      const e = request(5, 2, 3, 'last');
      const fe = sim.forward(e);
      sim.forward({ ...request(6, 1, 40), save: false });
      expectSame('after the buffers grew', sim, e, fe);
    } finally {
      instance.dispose();
    }
    const host = createBackend('wasm', graph, { threads, residentBytes: 0, chunkSteps: 2 });
    try {
      for (const record of ['all', 'last'] as const) {
        const q = request(7, 2, 5, record);
        expectSame(`on the host, record ${record}`, host.fused('ppneuron')!, q, host.fused('ppneuron')!.forward(q));
      }
    } finally {
      host.dispose();
    }
  });

  it('reads the input and the output gradient from views at any offset (1 and 2 floats in), equal to js', () => {
    // (copies between host arrays and wasm memory are placed by the host arrays' alignment)
    const view = (a: Float32Array, off: number): Float32Array => {
      const v = new Float32Array(a.length + off).subarray(off);
      v.set(a);
      return v;
    };
    const instance = createBackend('wasm', graph, { chunkSteps: 3 });
    const sim = instance.fused('ppneuron')!;
    try {
      for (const off of [1, 2]) {
        for (const residentBytes of [undefined, 0]) {
          const own = residentBytes === 0 ? createBackend('wasm', graph, { chunkSteps: 3, residentBytes }) : instance;
          const s2 = own === instance ? sim : own.fused('ppneuron')!;
          const q0 = request(20 + off, 2, 7);
          const q = { ...q0, x: view(q0.x as Float32Array, off) };
          const ref = js.forward(q0);
          const f = s2.forward(q);
          expectClose(`offset ${off}: output`, f.output.read(), ref.output.read());
          const g = view(gOut(q0), off);
          const got = s2.backward(q, f, g, needs);
          const want = js.backward(q0, ref, gOut(q0), needs);
          expectClose(`offset ${off}: d/dx`, got.x!, want.x!);
          expectClose(`offset ${off}: d/dweight`, got.inputs.weight!, want.inputs.weight!);
          if (own !== instance) own.dispose();
        }
      }
    } finally {
      instance.dispose();
    }
  });

  it('runs a backward pass again until its memory is taken by another simulation, then says so', () => {
    const instance = createBackend('wasm', graph, {});
    const sim = instance.fused('ppneuron')!;
    try {
      const q = request(8, 1, 6);
      const f = sim.forward(q);
      const first = sim.backward(q, f, gOut(q), needs);
      const again = sim.backward(q, f, gOut(q), needs);
      expect(Array.from(again.inputs.weight!)).toEqual(Array.from(first.inputs.weight!));
      expect(Array.from(again.x!)).toEqual(Array.from(first.x!));
      sim.forward(request(9, 1, 6));
      expect(() => sim.backward(q, f, gOut(q), needs)).toThrow(/this simulation's backward pass already ran, and the memory it kept is in use again/);
      expect(() => createBackend('wasm', graph, { residentBytes: -1 })).toThrow(/residentBytes: expected a non-negative integer, got -1/);
    } finally {
      instance.dispose();
    }
  });

  it('never changes what an earlier call returned', () => {
    const instance = createBackend('wasm', graph, { chunkSteps: 3 });
    const sim = instance.fused('ppneuron')!;
    try {
      const q = request(10, 2, 8);
      const f1 = sim.forward(q);
      const out1 = f1.output.read().slice();
      const g1 = sim.backward(q, f1, gOut(q), needs);
      const held = { x: g1.x!.slice(), v0: g1.v0!.slice(), weight: g1.inputs.weight!.slice() };
      const q2 = request(11, 2, 8);
      const f2 = sim.forward(q2);
      sim.backward(q2, f2, gOut(q2), needs);
      expect(Array.from(f1.output.read())).toEqual(Array.from(out1));
      expect(Array.from(g1.x!)).toEqual(Array.from(held.x));
      expect(Array.from(g1.v0!)).toEqual(Array.from(held.v0));
      expect(Array.from(g1.inputs.weight!)).toEqual(Array.from(held.weight));
      expect(Array.from(f2.output.read())).not.toEqual(Array.from(out1));
    } finally {
      instance.dispose();
    }
  });
});

describe.skipIf(!hasWasm)('the wasm layout on the demo connectome (14 cell types) at extent 5', () => {
  const net = Network.fromConnectome(demoConnectome(5), {}, { kernel: 'js' });
  const graph = net.backend.graph;

  it('runs most weight groups as stencil taps, the rest as merged runs, split between two threads', () => {
    const L = paddedLayout(graph, 2);
    const G = graph.groups!.representative.length;
    expect(L.tapGroup.length).toBeGreaterThan(G / 2);
    expect(L.forward).toHaveLength(2);
    expect(L.forward.every((p) => p.stencil!.nTaps > 0)).toBe(true);
    expect(L.backward.every((p) => p.stencil!.nTaps > 0)).toBe(true);
    // every real node in exactly one segment of each split
    for (const parts of [L.forward, L.backward]) expect(parts.reduce((n, p) => n + p.segs.rec.filter((_, i) => i % 3 === 2).reduce((a, b) => a + b, 0), 0)).toBe(graph.nNodes);
  });

  it.each(['wasm', 'wasm-threads'])('%s: batch 3 over chunks of 4 steps equals js, forward and backward', (kernel) => {
    const s: Scenario = { spec: demoSpec(), extent: 5, batch: 3, frames: 11, activation: 'elu', seed: 7, givenState: true, chunk: 4 };
    const run = (k: string): Run => {
      const n = Network.fromConnectome(demoConnectome(5), { dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: 'elu' } } }, { kernel: k, chunkSteps: 4 });
      try {
        return simulateOn(n, s);
      } finally {
        n.dispose();
      }
    };
    expectRunsAgree(kernel, run(kernel), run('scatter'));
  });
});

describe.skipIf(!hasWasm)('a backend graph without lattice coordinates', () => {
  it('runs on the identity layout (runs only), equal to js', () => {
    const c = compileConnectome(demoSpec(), 2, 1);
    const net = Network.fromConnectome(c, {}, { kernel: 'js' });
    const { layout: _drop, ...graph } = net.backend.graph;
    void _drop;
    const js = createBackend('js', graph, { kernel: 'scatter' }).fused('ppneuron')!;
    const wasm = createBackend('wasm', graph, { chunkSteps: 3 }).fused('ppneuron')!;
    const N = graph.nNodes;
    const G = graph.groups!.representative.length;
    const B = 2;
    const T = 7;
    const inputs = {
      bias: tensor(Float32Array.from({ length: N }, (_, i) => ((i * 7) % 11) / 11 - 0.5)),
      rate: tensor(Float32Array.from({ length: N }, (_, i) => 0.1 + ((i * 3) % 5) / 10)),
      weight: tensor(Float32Array.from({ length: G }, (_, i) => ((i * 5) % 9) / 9 - 0.4)),
    };
    const v0 = tensor(Float32Array.from({ length: B * N }, (_, i) => ((i * 13) % 7) / 7), [B, N]);
    const x = tensor(Float32Array.from({ length: B * T * N }, (_, i) => ((i * 17) % 19) / 19), [B, T, N]);
    const R = tensor(Float32Array.from({ length: B * T * N }, (_, i) => ((i * 23) % 29) / 29 - 0.5), [B, T, N]);
    const run = (sim: typeof js) =>
      valueAndGrad((p: Record<string, Tensor>) => sum(mul(simulateScan(sim, p.v0!, p.x!, { bias: p.bias!, rate: p.rate!, weight: p.weight! }, 'all'), R)))({
        ...inputs, v0, x,
      });
    const a = run(wasm);
    const b = run(js);
    expectClose('loss', a.value.data, b.value.data);
    for (const k of Object.keys(b.grads)) expectClose(`d/d${k}`, a.grads[k]!.data, b.grads[k]!.data);
  });
});
