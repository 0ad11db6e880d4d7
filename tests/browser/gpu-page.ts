// The GPU backends' test page (bundled by tests/browser/gpu-in-chromium.test.ts with esbuild,
// platform 'browser', minified): runs scan cases (tests/browser/gpu-cases.ts) on 'gpujs'
// (gpu.js over WebGL2) and 'webgpu' (navigator.gpu) and returns every array as base64 for the
// test to compare with Node's js backend. Imports only the platform-neutral core.
import { ConnectomeFromAvgFilters, Network, loadWasmKernel, registerConnectomeDescription } from '../../src/core.ts';
import { gpujsInfo, initWebGpu, listBackends, resolveBackend } from '../../src/backends/index.ts';
import { type CaseResult, networkCase, randomCase, runCase, toBase64 } from './gpu-cases.ts';
import { CONNECTOME, EXTENT, flashGradients } from './flash.ts';

export interface GpuSetup {
  readonly gpujs: ReturnType<typeof gpujsInfo>;
  readonly webgpu: { ok: true; adapter: string } | { ok: false; reason: string };
  readonly backends: readonly { name: string; available: boolean; note?: string; auto?: string }[];
  readonly auto: string;
}

export interface EncodedResult {
  readonly name: string;
  readonly arrays: Record<string, string>;
  /** The gpu.js backend the gpujs case ran on. */
  readonly ranOn?: string;
  readonly ms: number;
}

let setupDone: Promise<GpuSetup> | null = null;
let network: Network | null = null;

async function setup(): Promise<GpuSetup> {
  await loadWasmKernel('./flyvis-kernels.wasm');
  const response = await fetch(`./${CONNECTOME}`);
  if (!response.ok) throw new Error(`fetching ${CONNECTOME}: HTTP ${response.status}`);
  registerConnectomeDescription(CONNECTOME, await response.json());
  const webgpu = await initWebGpu();
  return { gpujs: gpujsInfo(), webgpu, auto: resolveBackend('auto').backend.name, backends: listBackends().map((b) => ({ ...b })) };
}

const encode = (r: CaseResult): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, a]) => [k, toBase64(a)]));

async function run(c: Parameters<typeof runCase>[0], backend: string): Promise<EncodedResult> {
  const t = performance.now();
  const { ranOn, ...r } = await runCase(c, backend);
  return { name: c.name, arrays: encode(r), ms: performance.now() - t, ...(ranOn !== undefined ? { ranOn } : {}) };
}

const api = {
  setup: (): Promise<GpuSetup> => (setupDone ??= setup()),
  /** Random cases for these seeds on a backend. */
  async random(seeds: number[], backend: string): Promise<EncodedResult[]> {
    await api.setup();
    const out: EncodedResult[] = [];
    for (const seed of seeds) out.push(await run(randomCase(seed), backend));
    return out;
  },
  /** flyvis's extent-15 network: a scan of `steps` steps at batch `batch` (seeded) on a backend. */
  async network(backend: string, dt: number, batch: number, steps: number, seed: number): Promise<EncodedResult> {
    await api.setup();
    network ??= Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel: 'js' });
    return run(networkCase(network, dt, batch, steps, seed), backend);
  },
  /** A Network's gradients over the flash on `kernel` (tests/browser/flash.ts). */
  async flashGradients(kernel: string): Promise<{ backend: string; loss: number; grads: Record<string, string>; ms: number }> {
    await api.setup();
    const t = performance.now();
    const r = flashGradients(kernel);
    return { backend: r.backend, loss: r.loss, grads: Object.fromEntries(Object.entries(r.grads).map(([k, a]) => [k, toBase64(a)])), ms: performance.now() - t };
  },
};

export type GpuPageApi = typeof api;
(globalThis as unknown as { flyvisGpu: GpuPageApi }).flyvisGpu = api;
