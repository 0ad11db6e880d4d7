// Every fast synapse kernel against the reference 'scatter' kernel, on random graphs (repeated
// edges, self-loops, nodes without inputs) and on structured ones (cell types on a small hex
// lattice wired by offsets, so that runs exist), random batches 1..4, every activation,
// forward and backward (gv, per-edge gw, and per-group gw where offered).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type Activation, makeActivation } from '../src/kernels/activation.ts';
import { type KernelName, createSynapseKernel, listKernels } from '../src/kernels/index.ts';
import { type EdgeIndex, type SynapseKernel, scatterSynapseKernel } from '../src/kernels/synapse.ts';

const FAST: KernelName[] = ['csr', 'runs', 'wasm', 'wasm-threads', 'gpujs'];
const available = new Set(listKernels().filter((k) => k.available).map((k) => k.name));
// Kernels with a worker or a compiled gpu.js kernel per instance get fewer runs.
const RUNS: Record<string, number> = { csr: 120, runs: 120, wasm: 120, 'wasm-threads': 25, gpujs: 25 };

/** |value - ref| <= 1e-5 * (sum of |terms| of that output) + 1e-7, per element. */
function expectClose(what: string, got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>): void {
  for (let i = 0; i < ref.length; i++) {
    const tol = 1e-5 * mag[i]! + 1e-7;
    if (!(Math.abs(got[i]! - ref[i]!) <= tol)) {
      expect.fail(`${what}[${i}] = ${got[i]} but the reference gives ${ref[i]} (tolerance ${tol})`);
    }
  }
}

interface Case {
  edges: EdgeIndex;
  batch: number;
  w: Float32Array;
  v: Float32Array;
  g: Float32Array;
  act: Activation;
  groups?: Int32Array;
}

/** Checks one kernel against scatter on one case. */
function agree(kernel: SynapseKernel, c: Case): void {
  const { edges, batch: B, w, v, g, act } = c;
  const N = edges.nNodes;
  const E = edges.source.length;
  const ref = scatterSynapseKernel(edges, act).bind(w);
  // magnitudes: the same sums over absolute values
  const absW = w.map(Math.abs);
  const absV = v.map((x) => Math.abs(act.f(x)) + Math.abs(act.df(x)));
  const absG = g.map(Math.abs);
  const absK = scatterSynapseKernel(edges, makeActivation('relu')).bind(absW);
  const magF = new Float32Array(B * N);
  absK.forward(absV, B, magF);
  const magGv = new Float32Array(B * N);
  const magGw = new Float32Array(E);
  absK.backward(absV, absG, B, magGv, magGw);
  for (let i = 0; i < magGv.length; i++) magGv[i] = magGv[i]! * 2 + 1; // gv accumulates onto 0.25

  const bound = kernel.bind(w);
  const out = new Float32Array(B * N).fill(Number.NaN);
  bound.forward(v, B, out);
  const outRef = new Float32Array(B * N);
  ref.forward(v, B, outRef);
  expectClose(`${kernel.name} forward`, out, outRef, magF);
  // twice: no state may leak between calls
  bound.forward(v, B, out);
  expectClose(`${kernel.name} forward (second call)`, out, outRef, magF);

  const gv = new Float32Array(B * N).fill(0.25);
  const gw = new Float32Array(E).fill(-0.5);
  bound.backward(v, g, B, gv, gw);
  const gvRef = new Float32Array(B * N).fill(0.25);
  const gwRef = new Float32Array(E).fill(-0.5);
  ref.backward(v, g, B, gvRef, gwRef);
  expectClose(`${kernel.name} gv`, gv, gvRef, magGv);
  expectClose(`${kernel.name} gw`, gw, gwRef, magGw.map((m) => m + 0.5));
  // each output alone
  const gvOnly = new Float32Array(B * N);
  bound.backward(v, g, B, gvOnly, null);
  expectClose(`${kernel.name} gv alone`, gvOnly, gvRef.map((x) => x - 0.25), magGv);
  const gwOnly = new Float32Array(E);
  bound.backward(v, g, B, null, gwOnly);
  expectClose(`${kernel.name} gw alone`, gwOnly, gwRef.map((x) => x + 0.5), magGw);

  if (c.groups && bound.backwardGroups) {
    const slots = kernel.nGroups!;
    const gG = new Float32Array(slots).fill(1);
    const gvG = new Float32Array(B * N);
    bound.backwardGroups(v, g, B, gvG, gG);
    const refG = new Float64Array(slots).fill(1);
    const magG = new Float64Array(slots).fill(1);
    for (let e = 0; e < E; e++) {
      refG[c.groups[e]!]! += gwRef[e]! + 0.5;
      magG[c.groups[e]!]! += magGw[e]!;
    }
    expectClose(`${kernel.name} per-group gw`, gG, refG, magG);
    expectClose(`${kernel.name} gv (backwardGroups)`, gvG, gvRef.map((x) => x - 0.25), magGv);
  }
}

// exact zeros are frequent on purpose: the activations' kinks (relu'(0) = 0) must match
const floats = (n: number, min: number, max: number) =>
  fc
    .array(fc.oneof(fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true }), fc.constant(0)), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a));

const randomGraph = fc
  .record({ nNodes: fc.integer({ min: 1, max: 14 }), nEdges: fc.integer({ min: 0, max: 60 }), batch: fc.integer({ min: 1, max: 4 }) })
  .chain(({ nNodes, nEdges, batch }) =>
    fc.record({
      edges: fc
        .tuple(
          fc.array(fc.integer({ min: 0, max: nNodes - 1 }), { minLength: nEdges, maxLength: nEdges }),
          fc.array(fc.integer({ min: 0, max: nNodes - 1 }), { minLength: nEdges, maxLength: nEdges }),
          fc.boolean(),
        )
        // sometimes runs of consecutive indices (what the runs kernels exploit), with repeats
        .map(([s, t, consecutive]) => ({
          nNodes,
          source: Int32Array.from(s, (x, i) => (consecutive ? Math.min(nNodes - 1, (s[0] ?? 0) + (i % 5)) : x)),
          target: Int32Array.from(t, (x, i) => (consecutive ? Math.min(nNodes - 1, (t[0] ?? 0) + (i % 5)) : x)),
        })),
      batch: fc.constant(batch),
      w: floats(nEdges, -2, 2),
      v: floats(nNodes * batch, -2, 2),
      g: floats(nNodes * batch, -1, 1),
      act: fc.constantFrom(...ACTIVATION_NAMES).map((a) => makeActivation(a)),
    }),
  );

/** Cell types on a hex lattice of radius `extent` (u outer, v inner), wired by offsets. */
const latticeGraph = fc
  .record({
    extent: fc.integer({ min: 0, max: 3 }),
    nTypes: fc.integer({ min: 1, max: 3 }),
    specs: fc.array(
      fc.record({
        src: fc.nat(2),
        tgt: fc.nat(2),
        offsets: fc.uniqueArray(fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 })), { minLength: 1, maxLength: 5, selector: ([a, b]) => `${a},${b}` }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    batch: fc.integer({ min: 1, max: 4 }),
    act: fc.constantFrom(...ACTIVATION_NAMES),
    seed: fc.integer(),
  })
  .map(({ extent, nTypes, specs, batch, act, seed }) => {
    const index = new Map<string, number>();
    let n = 0;
    for (let ty = 0; ty < nTypes; ty++)
      for (let u = -extent; u <= extent; u++)
        for (let v = Math.max(-extent, -extent - u); v <= Math.min(extent, extent - u); v++) index.set(`${ty},${u},${v}`, n++);
    const perType = n / nTypes;
    const src: number[] = [];
    const tgt: number[] = [];
    const grp: number[] = [];
    const gw: number[] = [];
    let rng = seed >>> 0;
    const rand = (): number => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    let group = 0;
    for (const spec of specs) {
      const s = spec.src % nTypes;
      const t = spec.tgt % nTypes;
      for (const [du, dv] of spec.offsets) {
        for (let i = 0; i < perType; i++) {
          const [, u, v] = [...index.entries()].find(([, k]) => k === s * perType + i)![0].split(',').map(Number) as [number, number, number];
          const target = index.get(`${t},${u + du},${v + dv}`);
          if (target === undefined) continue;
          src.push(s * perType + i);
          tgt.push(target);
          grp.push(group);
        }
        gw.push(Math.fround(rand() * 4 - 2));
        group++;
      }
    }
    const groups = Int32Array.from(grp);
    const c: Case = {
      edges: { nNodes: n, source: Int32Array.from(src), target: Int32Array.from(tgt) },
      batch,
      w: Float32Array.from(grp, (k) => gw[k]!),
      v: Float32Array.from({ length: n * batch }, () => (rand() < 0.1 ? 0 : rand() * 4 - 2)),
      g: Float32Array.from({ length: n * batch }, () => rand() * 2 - 1),
      act: makeActivation(act),
      groups,
    };
    return c;
  });

describe.each(FAST)('%s kernel agrees with scatter', (name) => {
  it.skipIf(!available.has(name))('on random graphs', () => {
    fc.assert(
      fc.property(randomGraph, (c) => {
        const k = createSynapseKernel(c.edges, c.act, { kernel: name });
        try {
          agree(k, c);
        } finally {
          k.dispose?.();
        }
      }),
      { numRuns: RUNS[name] },
    );
  });
  it.skipIf(!available.has(name))('on hex-lattice graphs with weight groups (runs exist)', () => {
    fc.assert(
      fc.property(latticeGraph, (c) => {
        const k = createSynapseKernel(c.edges, c.act, { kernel: name, weightGroups: c.groups! });
        try {
          agree(k, c);
        } finally {
          k.dispose?.();
        }
      }),
      { numRuns: RUNS[name] },
    );
  });
});

