// The 'gpujs' backend in Node. Without a GL context here (headless-gl is not built), gpu.js
// translates the same kernels to WebAssembly ('webasm') or runs them as JavaScript ('cpu'): the
// scan's structure (device-resident steps, the adjoint's accumulators, the per-group reduction,
// read-back) is checked against the js reference on random graphs in both modes, forward and
// every gradient; the GLSL translation is checked in Chromium over WebGL2
// (tests/browser/gpu-in-chromium.test.ts). Also: where it runs and why 'auto' passes it over
// here, a Network on it (float32 fused, float64 on js), and its errors.
import { describe, expect, it } from 'vitest';
import { type Tensor, mul, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { type GpujsInstance, createBackend, gpujsInfo, listBackends, resolveBackend } from '../../src/backends/index.ts';
import { demoConnectome } from '../../src/graph/index.ts';
import { Network } from '../../src/network/network.ts';
import { type CaseResult, disagreement, randomCase, runCase } from '../browser/gpu-cases.ts';

function expectAgrees(what: string, got: CaseResult, ref: CaseResult): number {
  const d = disagreement(got, ref);
  for (const [k, v] of Object.entries(d)) expect(v, `${what}: ${k} differs from js by ${v.toFixed(3)} x the tolerance`).toBeLessThanOrEqual(1);
  return Math.max(...Object.values(d));
}

describe('the gpujs backend in Node', () => {
  it("runs on gpu.js's best working mode, and 'auto' says why it passes it over without a GPU", () => {
    const info = gpujsInfo();
    expect(info.mode).not.toBeNull();
    expect(listBackends().find((b) => b.name === 'gpujs')).toMatchObject({ available: true, models: ['ppneuron'] });
    const auto = resolveBackend('auto').backend.name;
    const note = listBackends().find((b) => b.name === 'gpujs')!.auto!;
    if (info.mode !== null && !info.gpu) {
      expect(auto).not.toBe('gpujs');
      expect(note).toBe(`gpu.js runs on its ${info.backend} here, not on a GPU`);
    } else expect(note).toMatch(/^(faster|slower|gpujs disagrees)/);
  });

  it.each(['webasm', 'cpu'])("random graphs in gpu.js's %s mode: forward and every gradient equal js", async (mode) => {
    let worst = 0;
    for (let seed = 1; seed <= (mode === 'cpu' ? 12 : 24); seed++) {
      const c = randomCase(seed);
      const got = await runCase(c, 'gpujs', { mode });
      worst = Math.max(worst, expectAgrees(`${mode}, ${c.name}`, got, await runCase(c, 'js', { kernel: 'scatter' })));
    }
    console.log(`[gpujs ${mode}] random graphs: worst difference from js ${worst.toFixed(3)} x the tolerance (1e-5 of the largest value)`);
  });

  it('runs a Network (float32 on its fused scan, float64 on js), keeps nothing without a tape, and refuses a second backward and use after dispose', () => {
    const net = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'gpujs' });
    const ref = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'scatter' });
    expect(net.backend.backend).toBe('gpujs');
    const N = net.nNodes;
    const x = tensor(Float32Array.from({ length: 2 * 4 * N }, (_, i) => ((i * 7) % 11) / 11), [2, 4, N]);
    const R = tensor(Float32Array.from({ length: 2 * 4 * N }, (_, i) => ((i * 5) % 13) / 13 - 0.5), [2, 4, N]);
    const run = (n: Network) => valueAndGrad((p: Record<string, Tensor>) => sum(mul(n.forward(x, 0.02, { params: p }), R)))(n.trainableParams());
    const a = run(net);
    const b = run(ref);
    expect(Math.abs(a.value.data[0]! - b.value.data[0]!)).toBeLessThanOrEqual(1e-5 * Math.abs(b.value.data[0]!));
    for (const k of Object.keys(b.grads)) {
      const [ga, gb] = [a.grads[k]!.data, b.grads[k]!.data];
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < gb.length; i++) {
        scale = Math.max(scale, Math.abs(gb[i]!));
        diff = Math.max(diff, Math.abs(ga[i]! - gb[i]!));
      }
      expect(diff, `d/d${k}`).toBeLessThanOrEqual(1e-5 * scale);
    }
    const sim = net.backend.fused('ppneuron')!;
    const f64 = { bias: new Float64Array(N), rate: new Float64Array(N), weight: new Float64Array(1) };
    expect(sim.supports({ dtype: 'float64', inputs: f64 })).toBe(false);
    const p64 = Object.fromEntries(Object.entries(net.paramTensors()).map(([k, t]) => [k, tensor(Float64Array.from(t.data), t.shape, 'float64')]));
    expect(net.forward(tensor(new Float64Array(2 * N).fill(0.5), [1, 2, N], 'float64'), 0.02, { params: p64 }).dtype).toBe('float64');
    // the scan primitive: a second backward finds the device buffers released
    const c = randomCase(3);
    const instance = createBackend('gpujs', c.graph) as GpujsInstance;
    const s = instance.fused('ppneuron')!;
    const fwd = s.forward(c.request);
    const needs = { v0: true, x: true, inputs: { bias: true, rate: true, weight: true } };
    s.backward(c.request, fwd, c.gOut, needs);
    expect(() => s.backward(c.request, fwd, c.gOut, needs)).toThrow(/already differentiated/);
    expect(() => s.backward(c.request, s.forward({ ...c.request, save: false }), c.gOut, needs)).toThrow(/kept nothing/);
    instance.dispose();
    expect(() => s.forward(c.request)).toThrow(/used after dispose/);
    net.dispose();
    ref.dispose();
  });
});
