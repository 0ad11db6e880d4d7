// The 'webgpu' backend in Node, through the `webgpu` package (Dawn) on its OpenGL ES backend over
// EGL without a display (Mesa's llvmpipe on machines without a GPU: software, so what this
// measures is correctness, never speed): forward and the adjoint scan against the js reference on
// random graphs (tests/browser/gpu-cases.ts, as the browser test makes them), on flyvis's
// extent-15 graph as the PyTorch anchor reads it (../shared/golden/arrays_extent15), and on the
// network goldens' own simulations (steady state, flash response, the gradient's forward and
// backward passes, recorded from a Network on js and replayed here): states against flyvis's
// reference outputs, gradients against js's. Also: the asynchronous interface's errors, and
// that 'auto' never picks this backend. Skipped, with the reason printed, only where Dawn's
// prebuilt module or the EGL library it loads is absent (.ci/run installs libegl-dev,
// libegl-mesa0 and libgl1-mesa-dri).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexSelect, square, sum, type Tensor, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import {
  type BackendGraph, type FusedSimulator, type HostArray, type ScanGradients, type ScanNeeds, type ScanRequest, type WebGpuInstance,
  closeWebGpu, createBackend, initWebGpu, listBackends, resolveBackend, webgpuInfo,
} from '../../src/backends/index.ts';
import { ConnectomeFromAvgFilters, demoConnectome } from '../../src/graph/index.ts';
import { makeActivation } from '../../src/kernels/activation.ts';
import { Network } from '../../src/network/network.ts';
import { type CaseResult, disagreement, randomCase, runCase } from '../browser/gpu-cases.ts';
import { CONNECTOME_FILE, hasShared, sharedPath } from '../helpers/shared.ts';

const DAWN = new URL('../../node_modules/webgpu/dist/linux-x64/dawn.node', import.meta.url);
const EGL = ['/usr/lib/x86_64-linux-gnu/libEGL.so', '/usr/lib64/libEGL.so', '/usr/lib/libEGL.so'];
const missing = process.platform !== 'linux' || process.arch !== 'x64'
  ? `the webgpu package's prebuilt Dawn module is for linux-x64 here (this is ${process.platform}-${process.arch})`
  : !existsSync(DAWN) ? 'the webgpu package is not installed (npm ci installs it)'
    : !EGL.some((f) => existsSync(f)) ? 'no libEGL.so (apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri; .ci/run does)' : null;
if (missing) console.warn(`[flyvis-ts tests] skipping the webgpu backend tests in Node: ${missing}`);

/** Every array within 1e-5 of the reference's largest value; the worst ratio to that tolerance. */
function expectAgrees(what: string, got: CaseResult, ref: CaseResult): number {
  const d = disagreement(got, ref);
  for (const [k, v] of Object.entries(d)) expect(v, `${what}: ${k} differs from js by ${v.toFixed(3)} x the tolerance`).toBeLessThanOrEqual(1);
  return Math.max(...Object.values(d));
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

const f32File = (file: string): Float32Array => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const NEEDS_ALL: ScanNeeds = { v0: true, x: true, inputs: { bias: true, rate: true, weight: true } };
const asResult = (out: HostArray, g: ScanGradients): CaseResult => {
  const f = (a: HostArray | null | undefined): Float32Array => (a ? Float32Array.from(a) : new Float32Array(0));
  return { out: f(out), v0: f(g.v0), x: f(g.x), bias: f(g.inputs.bias), rate: f(g.inputs.rate), weight: f(g.inputs.weight) };
};

describe.skipIf(missing !== null)('the webgpu backend in Node (Dawn, OpenGL ES over EGL)', () => {
  beforeAll(async () => {
    // Dawn's GL backend without a display: EGL's surfaceless platform (read when Dawn loads EGL)
    process.env.EGL_PLATFORM ??= 'surfaceless';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { create } = (await import('webgpu')) as { create(flags: string[]): unknown };
    const r = await initWebGpu({ gpu: create(['backend=opengles']) });
    if (!r.ok) throw new Error(`initWebGpu failed with Dawn's GL backend present: ${r.reason}`);
    console.log(`[webgpu] adapter: ${r.adapter}`);
  });

  afterAll(() => closeWebGpu());

  it('is available after initWebGpu, never picked by auto, and says how to read its results', async () => {
    expect(webgpuInfo()).toMatchObject({ ok: true });
    expect(listBackends().find((b) => b.name === 'webgpu')).toMatchObject({ available: true, models: ['ppneuron'] });
    expect(resolveBackend('auto').backend.name).not.toBe('webgpu');
    const c = randomCase(5);
    const instance = createBackend('webgpu', c.graph) as WebGpuInstance;
    const sim = instance.fused('ppneuron')!;
    const fwd = sim.forward(c.request);
    expect(() => fwd.output.read()).toThrow(/read back asynchronously: use await output.readAsync\(\)/);
    expect(() => sim.backward(c.request, fwd, c.gOut, NEEDS_ALL)).toThrow(/use await backwardAsync/);
    await fwd.output.readAsync();
    await sim.backwardAsync(c.request, fwd, c.gOut, NEEDS_ALL);
    await expect(sim.backwardAsync(c.request, fwd, c.gOut, NEEDS_ALL)).rejects.toThrow(/already differentiated/);
    expect(sim.supports({ dtype: 'float64', inputs: {} })).toBe(false);
    instance.dispose();
    expect(() => instance.fused('ppneuron')!.forward(c.request)).toThrow(/used after dispose/);
    // a Network's simulations are synchronous: it says what to use
    const graphNet = Network.fromConnectome(demoConnectome(1), {}, { kernel: 'webgpu' });
    expect(() => graphNet.forward(tensor(new Float32Array(2 * graphNet.nNodes), [1, 2, graphNet.nNodes]), 0.02)).toThrow(/use the wasm or gpujs backend/);
    graphNet.dispose();
  });

  it('random graphs: forward and every gradient equal js', async () => {
    let worst = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const c = randomCase(seed);
      worst = Math.max(worst, expectAgrees(c.name, await runCase(c, 'webgpu'), await runCase(c, 'js', { kernel: 'scatter' })));
    }
    console.log(`[webgpu] 40 random graphs: worst difference from js ${worst.toFixed(3)} x the tolerance (1e-5 of the largest value)`);
  });

  it.skipIf(!hasShared)('arrays_extent15 (flyvis graph), batch 2, 6 steps: states and every gradient equal js', async () => {
    const read = <T>(file: string, C: new (b: ArrayBuffer) => T): T => {
      const b = readFileSync(sharedPath('golden', 'arrays_extent15', file));
      return new C(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    const source = read('src.i32', Int32Array);
    const target = read('tgt.i32', Int32Array);
    const w = read('w.f32', Float32Array);
    const bias = read('bias.f32', Float32Array);
    const N = bias.length;
    const index = new Int32Array(w.length);
    for (let e = 1; e < w.length; e++) index[e] = index[e - 1]! + (w[e] !== w[e - 1] ? 1 : 0);
    const G = index[w.length - 1]! + 1;
    const representative = new Int32Array(G);
    for (let e = w.length - 1; e >= 0; e--) representative[index[e]!] = e;
    const graph: BackendGraph = { nNodes: N, source, target, groups: { index, representative }, activation: makeActivation('relu') };
    const B = 2;
    const T = 6;
    let seed = 99;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const request: ScanRequest = {
      batch: B, steps: T, dtype: 'float32', record: 'all', save: true,
      v0: Float32Array.from({ length: B * N }, (_, i) => bias[i % N]!),
      x: Float32Array.from({ length: B * T * N }, rand),
      inputs: { bias: bias.slice(), rate: new Float32Array(N).fill(0.02 / 0.05), weight: Float32Array.from(representative, (e) => w[e]!) },
    };
    const c = { name: 'arrays_extent15', graph, request, gOut: Float32Array.from({ length: B * T * N }, () => rand() - 0.5) };
    const worst = expectAgrees(c.name, await runCase(c, 'webgpu'), await runCase(c, 'js'));
    console.log(`[webgpu] arrays_extent15: worst difference from js ${worst.toFixed(3)} x the tolerance`);
  });

  for (const extent of [2, 15]) {
    it.skipIf(!hasShared)(`the network goldens at extent ${extent}: steady state and flash against flyvis, the gradient's scan against js`, async () => {
      interface Golden { n_nodes: number; dt: number; cell_types: string[]; central_cells_index: Record<string, number>; flash_response_central: number[][]; grad_loss: number }
      const golden = JSON.parse(readFileSync(sharedPath('golden', `extent${extent}`, 'golden.json'), 'utf8')) as Golden;
      const central = Int32Array.from(golden.cell_types.map((t) => golden.central_cells_index[t]!));
      const N = golden.n_nodes;
      // the golden test's simulations on js, each scan recorded (request, output, and for the
      // gradient its upstream gradient and js's scan gradients)
      const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME_FILE, extent, 1), {}, { kernel: 'js' });
      const calls: { request: ScanRequest; gOut?: Float32Array; needs?: ScanNeeds; out?: HostArray; grads?: ScanGradients }[] = [];
      const fused = net.backend.fused.bind(net.backend);
      (net.backend as { fused: typeof fused }).fused = (model) => {
        const sim = fused(model)!;
        const recording: FusedSimulator = {
          ...sim,
          forward(r) {
            const entry: (typeof calls)[number] = {
              request: { ...r, v0: r.v0.slice(), x: r.x.slice(), inputs: Object.fromEntries(Object.entries(r.inputs).map(([k, a]) => [k, a.slice()])) },
            };
            calls.push(entry);
            const f = sim.forward(r);
            entry.out = f.output.read().slice();
            return { ...f, saved: { inner: f.saved, entry } };
          },
          backward(r, f, gOut, needs) {
            const s = f.saved as { inner: unknown; entry: (typeof calls)[number] };
            const g = sim.backward(r, { ...f, saved: s.inner }, gOut, needs);
            Object.assign(s.entry, { gOut: Float32Array.from(gOut), needs, grads: g });
            return g;
          },
        };
        return recording;
      };
      const FLASH = Array.from({ length: 25 }, (_, t) => (t < 5 ? 0.5 : t < 15 ? 1.0 : 0.0));
      const steady = net.steadyState(1.0, golden.dt, 1)!;
      net.stimulus.zero(1, FLASH.length);
      net.stimulus.addPreStim(FLASH);
      net.forward(net.stimulus.call(), golden.dt, { state: steady });
      const x = { data: net.stimulus.call().data.slice(), shape: [1, 25, N] };
      valueAndGrad((p: Record<string, Tensor>) => sum(square(indexSelect(net.forward(x, golden.dt, { params: p }), central, 2))))(net.trainableParams());
      expect(calls.map((c) => [c.request.record, c.request.steps, c.grads !== undefined])).toEqual([['last', 50, false], ['all', 25, false], ['all', 25, true]]);
      const [steadyCall, flashCall, gradCall] = calls as [(typeof calls)[0], (typeof calls)[0], Required<(typeof calls)[0]>];

      const instance = createBackend('webgpu', net.backend.graph) as WebGpuInstance;
      const sim = instance.fused('ppneuron')!;
      try {
        // steady state, then the flash from it: both on webgpu, against flyvis's outputs
        const s = await sim.forward({ ...steadyCall.request, save: false }).output.readAsync();
        expect(maxAbsDiff(s, f32File(sharedPath('golden', `extent${extent}`, 'steady_state.f32')))).toBeLessThan(2e-5);
        const act = await sim.forward({ ...flashCall.request, v0: s, save: false }).output.readAsync();
        const trace = golden.flash_response_central.flatMap((_, t) => Array.from(central, (i) => act[t * N + i]!));
        expect(maxAbsDiff(trace, golden.flash_response_central.flat())).toBeLessThan(2e-5);
        expect(maxAbsDiff(act.subarray(24 * N, 25 * N), f32File(sharedPath('golden', `extent${extent}`, 'flash_last_frame.f32')))).toBeLessThan(2e-5);
        // the gradient's simulation: its loss against flyvis's, its scan gradients against js's
        const f = sim.forward(gradCall.request);
        const a = await f.output.readAsync();
        let loss = 0;
        for (let t = 0; t < 25; t++) for (const i of central) loss += a[t * N + i]! ** 2;
        expect(Math.abs(loss - golden.grad_loss) / golden.grad_loss).toBeLessThan(1e-5);
        const g = await sim.backwardAsync(gradCall.request, f, gradCall.gOut, gradCall.needs);
        const worst = expectAgrees(`extent ${extent} gradient scan`, asResult(a, g), asResult(gradCall.out, gradCall.grads));
        console.log(`[webgpu] goldens at extent ${extent}: steady state and flash within 2e-5 of flyvis; gradient scan ${worst.toFixed(3)} x the tolerance from js`);
      } finally {
        instance.dispose();
        net.dispose();
      }
    });
  }

  it('refuses work once its device is closed, and is unavailable until initWebGpu again', () => {
    const c = randomCase(2);
    const instance = createBackend('webgpu', c.graph) as WebGpuInstance;
    closeWebGpu();
    expect(() => instance.fused('ppneuron')!.forward(c.request)).toThrow(/closed or lost/);
    expect(listBackends().find((b) => b.name === 'webgpu')).toMatchObject({ available: false, note: expect.stringMatching(/closeWebGpu/) });
    expect(() => createBackend('webgpu', c.graph)).toThrow(/not available here/);
  });
});
