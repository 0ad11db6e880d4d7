// The 'webgpu' backend in Node, through the `webgpu` package (Dawn) on its OpenGL ES backend over
// EGL without a display (Mesa's llvmpipe on machines without a GPU: software, so what this
// measures is correctness, never speed): forward and the adjoint scan against the js reference on
// random graphs (tests/browser/gpu-cases.ts, as the browser test makes them), on flyvis's
// extent-15 graph as the PyTorch anchor reads it (../shared/golden/arrays_extent15); and a
// Network on it through its asynchronous methods (simulateAsync, forwardAsync, ...,
// valueAndGradAsync): the network goldens at extents 2 and 15 against flyvis's outputs and
// gradients, a flash and its gradients at extent 15 against js, non-finite states, the generic
// path, and `flyvis simulate --kernel webgpu` against `--kernel js`. Also: the asynchronous
// interface's errors, that 'auto' never picks this backend, and that instances refuse work once
// their device is closed. Skipped, with the reason printed, only where Dawn's
// prebuilt module or the EGL library it loads is absent (.ci/run installs libegl-dev,
// libegl-mesa0 and libgl1-mesa-dri).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexSelect, square, sum, type Tensor, tensor, valueAndGrad, valueAndGradAsync } from '../../src/autograd/index.ts';
import {
  type BackendGraph, type ScanNeeds, type ScanRequest, type WebGpuInstance,
  closeWebGpu, createBackend, initWebGpu, listBackends, resolveBackend, webgpuInfo,
} from '../../src/backends/index.ts';
import { ConnectomeFromAvgFilters, demoConnectome } from '../../src/graph/index.ts';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { makeActivation } from '../../src/kernels/activation.ts';
import { Network, NonFiniteActivityError, type State } from '../../src/network/network.ts';
import { type CaseResult, disagreement, randomCase, runCase } from '../browser/gpu-cases.ts';
import { CONNECTOME_FILE, PROJECT_DIR, hasShared, sharedPath } from '../helpers/shared.ts';

/** flyvis's connectome as the repository ships it (data/). */
const FLYVIS_CONNECTOME = resolve(PROJECT_DIR, 'data', 'fib25-fib19_v2.2.json');
const DT = 0.02;

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

const f32File = (file: string): Float32Array => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const NEEDS_ALL: ScanNeeds = { v0: true, x: true, inputs: { bias: true, rate: true, weight: true } };

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
    // a Network's synchronous methods say which asynchronous one to use
    const graphNet = Network.fromConnectome(demoConnectome(1), {}, { kernel: 'webgpu' });
    expect(() => graphNet.forward(tensor(new Float32Array(2 * graphNet.nNodes), [1, 2, graphNet.nNodes]), 0.02)).toThrow(/^forward: the 'webgpu' backend reads results back asynchronously: use await network\.forwardAsync/);
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

  // The network goldens through the asynchronous path, end to end: a Network on kernel 'webgpu'
  // (steadyStateAsync, forwardAsync, and valueAndGradAsync of the golden loss over forwardAsync:
  // one scan node per simulation, its VJP webgpu's backwardAsync) against flyvis's outputs.
  for (const extent of [2, 15]) {
    it.skipIf(!hasShared)(`the network goldens at extent ${extent} hold for a Network on webgpu through its asynchronous methods`, async () => {
      interface Golden {
        n_nodes: number; dt: number; cell_types: string[]; central_cells_index: Record<string, number>; steady_state_central: number[];
        flash_response_central: number[][]; grad_loss: number; grad: { bias: number[]; time_const: number[]; syn_strength: number[] };
      }
      const golden = JSON.parse(readFileSync(sharedPath('golden', `extent${extent}`, 'golden.json'), 'utf8')) as Golden;
      const central = Int32Array.from(golden.cell_types.map((t) => golden.central_cells_index[t]!));
      const N = golden.n_nodes;
      const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME_FILE, extent, 1), {}, { kernel: 'webgpu' });
      try {
        expect(net.backend.backend).toBe('webgpu');
        const steady = (await net.steadyStateAsync(1.0, golden.dt, 1))!;
        const v = steady.nodes.activity!;
        expect(maxAbsDiff(v.data, f32File(sharedPath('golden', `extent${extent}`, 'steady_state.f32')))).toBeLessThan(2e-5);
        expect(maxAbsDiff(Array.from(central, (i) => v.data[i]!), golden.steady_state_central)).toBeLessThan(2e-5);
        const FLASH = Array.from({ length: 25 }, (_, t) => (t < 5 ? 0.5 : t < 15 ? 1.0 : 0.0));
        net.stimulus.zero(1, FLASH.length);
        net.stimulus.addPreStim(FLASH);
        const x = { data: net.stimulus.call().data.slice(), shape: [1, 25, N] };
        const act = await net.forwardAsync(x, golden.dt, { state: steady });
        const trace = golden.flash_response_central.flatMap((_, t) => Array.from(central, (i) => act.data[t * N + i]!));
        expect(maxAbsDiff(trace, golden.flash_response_central.flat())).toBeLessThan(2e-5);
        expect(maxAbsDiff(act.data.subarray(24 * N, 25 * N), f32File(sharedPath('golden', `extent${extent}`, 'flash_last_frame.f32')))).toBeLessThan(2e-5);
        const loss = async (p: Record<string, Tensor>): Promise<Tensor> => sum(square(indexSelect(await net.forwardAsync(x, golden.dt, { params: p }), central, 2)));
        const { value, grads } = await valueAndGradAsync(loss)(net.trainableParams());
        expect(Math.abs(value.item() - golden.grad_loss) / golden.grad_loss).toBeLessThan(1e-5);
        const errors = {
          bias: relL2(grads.nodes_bias!.data, golden.grad.bias),
          time_const: relL2(grads.nodes_time_const!.data, golden.grad.time_const),
          syn_strength: relL2(grads.edges_syn_strength!.data, golden.grad.syn_strength),
        };
        for (const [k, e] of Object.entries(errors)) expect(e, `${k} gradient`).toBeLessThan(1e-4);
        console.log(`[webgpu] Network goldens at extent ${extent}: states within 2e-5 of flyvis; gradients' relative L2 error ${Object.entries(errors).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
      } finally {
        net.dispose();
      }
    });
  }

  it("a Network at extent 15 (flyvis's connectome): simulateAsync of a flash and valueAndGradAsync through it equal js, the synchronous methods say what to use", async () => {
    const connectome = ConnectomeFromAvgFilters(FLYVIS_CONNECTOME, 15, 1);
    const gpu = Network.fromConnectome(connectome, {}, { kernel: 'webgpu' });
    const js = Network.fromConnectome(connectome, {}, { kernel: 'js' });
    try {
      const H = gpu.stimulus.nInputElements;
      const T = 25;
      const flash = new Float32Array(T * H);
      for (let t = 0; t < T; t++) flash.fill(t < 5 ? 0.5 : t < 15 ? 1.0 : 0.0, t * H, (t + 1) * H);
      const movie = { data: flash, shape: [1, T, 1, H] };
      expect(() => gpu.simulate(movie, DT)).toThrow(/^simulate: the 'webgpu' backend reads results back asynchronously: use await network\.simulateAsync/);
      const a = (await gpu.simulateAsync(movie, DT)) as Tensor;
      const b = js.simulate(movie, DT) as Tensor;
      expect(a.shape).toEqual([1, T, gpu.nNodes]);
      const diff = maxAbsDiff(a.data, b.data);
      expect(diff).toBeLessThan(1e-5);
      // gradients of a loss over a simulation from v = bias (the initial state differentiated
      // too); 12 frames keep the software GPU's adjoint scan short (the steady state's scan is
      // differentiated in the goldens' test and in tests/backends/network-async.test.ts)
      const short = { data: flash.subarray(0, 12 * H), shape: [1, 12, 1, H] };
      const central = Int32Array.from(gpu.connectome.centralCellsIndex);
      const loss = (act: Tensor): Tensor => sum(square(indexSelect(act, central, 2)));
      const run = { initialState: null, grad: true } as const;
      const got = await valueAndGradAsync(async (p: Record<string, Tensor>) => loss((await gpu.simulateAsync(short, DT, { ...run, params: p })) as Tensor))(gpu.trainableParams());
      const want = valueAndGrad((p: Record<string, Tensor>) => loss(js.simulate(short, DT, { ...run, params: p }) as Tensor))(js.trainableParams());
      expect(Math.abs(got.value.item() - want.value.item()) / want.value.item()).toBeLessThan(1e-5);
      const errors = Object.keys(want.grads).map((k) => [k, relL2(got.grads[k]!.data, want.grads[k]!.data)] as const);
      expect(errors.map(([k]) => k).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
      for (const [k, e] of errors) expect(e, k).toBeLessThan(1e-4);
      console.log(`[webgpu] Network at extent 15: flash activity within ${diff.toExponential(1)} of js; gradients' relative L2 from js ${errors.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
    } finally {
      gpu.dispose();
      js.dispose();
    }
  });

  it('a Network on webgpu finds non-finite states as on js, and runs the generic path (a state hook) on the host', async () => {
    const connectome = ConnectomeFromAvgFilters(FLYVIS_CONNECTOME, 2, 1);
    const blowUp = (net: Network): Network => {
      const p = net.parameters.byName.get('edges_syn_strength')!;
      net.setParams({ edges_syn_strength: tensor(new Float32Array(p.raw.length).fill(1e30)) });
      return net;
    };
    const gpu = blowUp(Network.fromConnectome(connectome, {}, { kernel: 'webgpu' }));
    const js = blowUp(Network.fromConnectome(connectome, {}, { kernel: 'js' }));
    const H = gpu.stimulus.nInputElements;
    const movie = { data: new Float32Array(4 * H).fill(0.5), shape: [1, 4, 1, H] };
    const err = (await gpu.simulateAsync(movie, DT).then(() => null, (e: unknown) => e)) as NonFiniteActivityError;
    expect(err).toBeInstanceOf(NonFiniteActivityError);
    let want: NonFiniteActivityError | undefined;
    try {
      js.simulate(movie, DT);
    } catch (e) {
      want = e as NonFiniteActivityError;
    }
    expect(err.details).toEqual(want!.details);
    gpu.dispose();
    js.dispose();
    // a state hook: the generic path, synchronous on webgpu's host kernel
    const hooked = Network.fromConnectome(connectome, {}, { kernel: 'webgpu' });
    let calls = 0;
    hooked.registerStateHook((s: State) => {
      calls++;
      return s;
    });
    const plain = Network.fromConnectome(connectome, {}, { kernel: 'js' });
    const a = hooked.simulate(movie, DT) as Tensor;
    expect(calls).toBe(1 + 50 + 4);
    expect(maxAbsDiff(a.data, (await hooked.simulateAsync(movie, DT) as Tensor).data)).toBe(0);
    expect(maxAbsDiff(a.data, (plain.simulate(movie, DT) as Tensor).data)).toBeLessThan(1e-5);
    hooked.dispose();
    plain.dispose();
  });

  it("flyvis simulate --kernel webgpu writes what --kernel js writes", () => {
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-webgpu-'));
    const H = 721; // extent 15
    const T = 6;
    const movie = new Float32Array(2 * T * H);
    for (let i = 0; i < movie.length; i++) movie[i] = 0.5 + 0.5 * Math.sin(i * 0.37);
    writeFileSync(join(dir, 'movie.npy'), encodeNpy(movie, [2, T, 1, H]));
    const run = (kernel: string) =>
      spawnSync(process.execPath, ['bin/flyvis.mjs', 'simulate', '--connectome', FLYVIS_CONNECTOME, '--extent', '15', '--movie', join(dir, 'movie.npy'),
        '--dt', '0.02', '--t-pre', '0.2', '--kernel', kernel, '--out', join(dir, `${kernel}.npy`)], { cwd: PROJECT_DIR, encoding: 'utf8' });
    const gpu = run('webgpu');
    // Dawn's GL backend prints its own warnings about limits on stderr; nothing else
    expect(gpu.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Warning: '))).toEqual([]);
    expect(gpu.status).toBe(0);
    const js = run('js');
    expect(js.stderr).toBe('');
    expect(js.status).toBe(0);
    const a = readNpy(join(dir, 'webgpu.npy'));
    const b = readNpy(join(dir, 'js.npy'));
    expect(a.shape).toEqual([2, T, b.shape[2]]);
    expect(b.shape).toEqual([2, T, 45669]);
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-5);
  });

  it('refuses work once its device is closed, and is unavailable until initWebGpu again', async () => {
    const c = randomCase(2);
    const instance = createBackend('webgpu', c.graph) as WebGpuInstance;
    // a read-back in flight when the device closes: it settles (read, or refused naming the close)
    const inFlight = instance.fused('ppneuron')!.forward({ ...c.request, save: false }).output.readAsync();
    closeWebGpu();
    expect(() => instance.fused('ppneuron')!.forward(c.request)).toThrow(/closed or lost/);
    expect(listBackends().find((b) => b.name === 'webgpu')).toMatchObject({ available: false, note: expect.stringMatching(/closeWebGpu/) });
    expect(() => createBackend('webgpu', c.graph)).toThrow(/not available here/);
    const settled = await inFlight.then(() => 'read', (e: unknown) => (e as Error).message);
    expect(settled).toMatch(/^(read|webgpu backend: the device was closed or lost before the results were read back)/);
    instance.dispose();
  });

  // The race behind a crash of this file once under load: closing the device while read-backs
  // were in flight dropped the last reference to Dawn's GPU object, and Dawn aborts or segfaults
  // when that object is collected under pending device callbacks (at whatever garbage collection
  // comes next). Everything in flight now keeps it alive until it settles. A child process with
  // --expose-gc closes under read-backs and collects, four times (before the fix: 3 of 3 crashed).
  it('survives garbage collection right after closing with read-backs in flight (a child process)', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'tests/backends/webgpu-close-child.ts'], { cwd: PROJECT_DIR, encoding: 'utf8', timeout: 110_000 });
    expect(r.signal, r.stderr.slice(-2000)).toBeNull();
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const ended = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    expect(Object.values(ended).reduce((a, b) => a + b, 0)).toBe(32);
    for (const how of Object.keys(ended)) expect(how).toMatch(/^(read|webgpu backend: the device was closed or lost before the results were read back)/);
  });
});
