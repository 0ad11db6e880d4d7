// The fast synapse kernels: selection, errors, worker lifetime, and agreement with the
// reference kernel on flyvis's real extent-15 graph (shared/golden/arrays_extent15).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeActivation } from '../../src/kernels/activation.ts';
import { KERNEL_NAMES, type KernelName, autoKernelName, createSynapseKernel, listKernels } from '../../src/kernels/index.ts';
import { buildRuns } from '../../src/kernels/structure.ts';
import { type EdgeIndex, scatterSynapseKernel } from '../../src/kernels/synapse.ts';
import { GOLDEN_DIR, hasShared } from '../helpers/shared.ts';

const relu = makeActivation();
const available = listKernels().filter((k) => k.available).map((k) => k.name);
const chain: EdgeIndex = { nNodes: 6, source: Int32Array.of(0, 1, 2, 3, 0), target: Int32Array.of(1, 2, 3, 4, 5) };

describe('kernel selection', () => {
  it('lists every kernel with its availability; scatter, csr and runs always work', () => {
    const names = listKernels().map((k) => k.name);
    expect(names).toEqual([...KERNEL_NAMES]);
    expect(available).toEqual(expect.arrayContaining(['scatter', 'csr', 'runs']));
  });
  it('names the available kernels when asked for an unknown one', () => {
    expect(() => createSynapseKernel(chain, relu, { kernel: 'cuda' as never })).toThrow(
      /options\.kernel: unknown kernel 'cuda' \(available: auto, scatter, csr, runs, wasm, wasm-threads, gpujs\)/,
    );
    expect(() => createSynapseKernel(chain, relu, { threads: 0 })).toThrow(/options\.threads: expected a positive integer, got 0/);
  });
  it("'auto' picks wasm when it works and never gpujs", () => {
    const name = autoKernelName(chain);
    expect(name).not.toBe('gpujs');
    if (available.includes('wasm')) {
      expect(name).toBe('wasm');
      expect(autoKernelName(chain, { threads: 2 })).toBe('wasm-threads');
    }
    expect(createSynapseKernel(chain, relu).name).toBe(name);
  });
  it('force-selects each available kernel by name', () => {
    for (const name of available) {
      const k = createSynapseKernel(chain, relu, { kernel: name });
      expect(k.name).toBe(name);
      const out = new Float32Array(6);
      k.bind(Float32Array.of(1, 2, 3, 4, 5)).forward(Float32Array.of(1, 1, 1, -1, 1, 1), 1, out);
      expect(Array.from(out)).toEqual([0, 1, 2, 3, 0, 5]);
      k.dispose?.();
    }
  });
});

describe('runs structure', () => {
  it('splits consecutive edges into runs, breaking at group changes', () => {
    const edges: EdgeIndex = { nNodes: 8, source: Int32Array.of(0, 1, 2, 5, 6, 7), target: Int32Array.of(3, 4, 5, 0, 1, 3) };
    const r = buildRuns(edges);
    expect([r.count, Array.from(r.len), Array.from(r.s0), Array.from(r.t0)]).toEqual([3, [3, 2, 1], [0, 5, 7], [3, 0, 3]]);
    const g = buildRuns(edges, Int32Array.of(7, 7, 9, 9, 9, 9));
    expect([g.count, Array.from(g.len), g.nGroups, g.groupSlots, Array.from(g.groupIds!)]).toEqual([4, [2, 1, 2, 1], 2, 10, [7, 9]]);
  });
});

describe.each(['runs', 'wasm', 'wasm-threads'] as KernelName[])('%s kernel with weight groups', (name) => {
  it.skipIf(!available.includes(name))('rejects weights that differ within a group, unless told not to check', () => {
    const k = createSynapseKernel(chain, relu, { kernel: name, weightGroups: Int32Array.of(0, 0, 0, 1, 1) });
    expect(k.nGroups).toBe(2);
    expect(() => k.bind(Float32Array.of(1, 1, 2, 3, 3))).toThrow(/edge 2 has weight 2 but its weight group's first edge 0 has 1/);
    expect(() => k.bind(Float32Array.of(1, 1, 2, 3, 3), { checkGroups: false })).not.toThrow();
    expect(() => createSynapseKernel(chain, relu, { kernel: name, weightGroups: Int32Array.of(0, -1, 0, 0, 0) })).toThrow(
      /options\.weightGroups\[1\] = -1: group ids must be non-negative/,
    );
    k.dispose?.();
  });
});

describe('wasm-threads lifetime', () => {
  it.skipIf(!available.includes('wasm-threads'))('refuses use after dispose() and does not keep the process alive', () => {
    const k = createSynapseKernel(chain, relu, { kernel: 'wasm-threads' });
    const b = k.bind(new Float32Array(5).fill(1));
    b.forward(new Float32Array(6), 1, new Float32Array(6));
    k.dispose!();
    expect(() => b.forward(new Float32Array(6), 1, new Float32Array(6))).toThrow(/wasm-threads kernel: used after dispose\(\)/);
    // (a worker left running would make this forked test file hang at exit: the suite would time out)
  });
});

function loadGolden(): { edges: EdgeIndex; w: Float32Array; groups: Int32Array } {
  const dir = `${GOLDEN_DIR}/arrays_extent15`;
  const rd = (f: string): ArrayBuffer => {
    const b = readFileSync(`${dir}/${f}`);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  const source = new Int32Array(rd('src.i32'));
  const target = new Int32Array(rd('tgt.i32'));
  const w = new Float32Array(rd('w.f32'));
  const nNodes = new Float32Array(rd('bias.f32')).length;
  // Weight groups: maximal stretches of consecutive edges with equal weight. Each of flyvis's
  // (source type, target type, du, dv) groups is one such stretch (a few neighbours that happen
  // to share a weight merge, which is harmless: their weights are equal).
  const groups = new Int32Array(w.length);
  for (let e = 1; e < w.length; e++) groups[e] = groups[e - 1]! + (w[e] !== w[e - 1] ? 1 : 0);
  return { edges: { nNodes, source, target }, w, groups };
}

function relMaxErr(got: Float32Array, ref: Float32Array): number {
  let err = 0;
  let mag = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    mag = Math.max(mag, Math.abs(ref[i]!));
  }
  return err / mag;
}

describe.skipIf(!hasShared)('every kernel on the real extent-15 graph (arrays_extent15)', () => {
  const { edges, w, groups } = hasShared ? loadGolden() : { edges: chain, w: new Float32Array(0), groups: new Int32Array(0) };
  const N = edges.nNodes;
  const ref = hasShared ? scatterSynapseKernel(edges, relu).bind(w) : null;
  it.each([1, 4])('forward and backward agree with scatter at batch %i (relative max error <= 1e-5)', (B) => {
    let seed = 12345;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const v = Float32Array.from({ length: B * N }, () => rand() * 2 - 0.5);
    const g = Float32Array.from({ length: B * N }, () => rand() - 0.5);
    const out0 = new Float32Array(B * N);
    ref!.forward(v, B, out0);
    const gv0 = new Float32Array(B * N);
    const gw0 = new Float32Array(w.length);
    ref!.backward(v, g, B, gv0, gw0);
    const variants = available.filter((n) => n !== 'scatter').flatMap((n) => [{ n, grouped: false }, ...(['runs', 'wasm', 'wasm-threads'].includes(n) ? [{ n, grouped: true }] : [])]);
    for (const { n, grouped } of variants) {
      const k = createSynapseKernel(edges, relu, { kernel: n, ...(grouped ? { weightGroups: groups } : {}) });
      try {
        const bound = k.bind(w);
        const out = new Float32Array(B * N);
        bound.forward(v, B, out);
        const gv = new Float32Array(B * N);
        const gw = new Float32Array(w.length);
        bound.backward(v, g, B, gv, gw);
        const what = `${n}${grouped ? ' (weight groups)' : ''} at batch ${B}`;
        expect(relMaxErr(out, out0), `${what}: forward`).toBeLessThanOrEqual(1e-5);
        expect(relMaxErr(gv, gv0), `${what}: gv`).toBeLessThanOrEqual(1e-5);
        expect(relMaxErr(gw, gw0), `${what}: gw`).toBeLessThanOrEqual(1e-5);
        if (grouped) {
          const gG = new Float32Array(k.nGroups!);
          bound.backwardGroups!(v, g, B, null, gG);
          const refG = new Float32Array(k.nGroups!);
          for (let e = 0; e < w.length; e++) refG[groups[e]!]! += gw0[e]!;
          expect(relMaxErr(gG, refG), `${what}: per-group gw`).toBeLessThanOrEqual(1e-5);
        }
      } finally {
        k.dispose?.();
      }
    }
  });
});
