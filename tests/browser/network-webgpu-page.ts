// The page of tests/browser/network-webgpu-in-chromium.test.ts (bundled with esbuild, platform
// 'browser', minified): a Network on the 'webgpu' backend (the browser's navigator.gpu) through its
// asynchronous methods, as a web application would use it: the flash of tests/browser/flash.ts
// by simulateAsync, and the gradients of its loss by valueAndGradAsync over forwardAsync. Imports
// only the platform-neutral core.
import {
  ConnectomeFromAvgFilters, Network, type Tensor, initWebGpu, mul, registerConnectomeDescription, sum, tensor, valueAndGradAsync,
} from '../../src/core.ts';
import { CONNECTOME, DT, EXTENT, FLASH } from './flash.ts';

export interface NetworkWebGpuResult {
  readonly adapter: string;
  readonly backend: string;
  /** What the synchronous simulate said on this backend. */
  readonly syncError: string;
  /** The flash's activity (1, frames, nodes), float32 bytes as base64. */
  readonly activity: string;
  readonly loss: number;
  /** d loss / d parameter, float32 bytes as base64, by state_dict name. */
  readonly grads: Record<string, string>;
  readonly ms: number;
}

function base64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function run(): Promise<NetworkWebGpuResult> {
  const t0 = performance.now();
  const response = await fetch(`./${CONNECTOME}`);
  if (!response.ok) throw new Error(`fetching ${CONNECTOME}: HTTP ${response.status}`);
  registerConnectomeDescription(CONNECTOME, await response.json());
  const gpu = await initWebGpu();
  if (!gpu.ok) throw new Error(`initWebGpu: ${gpu.reason}`);
  const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel: 'webgpu' });
  try {
    const H = net.stimulus.nInputElements;
    const N = net.nNodes;
    const T = FLASH.length;
    const data = new Float32Array(T * H);
    FLASH.forEach((x, t) => data.fill(x, t * H, (t + 1) * H));
    const movie = { data, shape: [1, T, 1, H] };
    let syncError = '';
    try {
      net.simulate(movie, DT);
    } catch (e) {
      syncError = (e as Error).message;
    }
    const activity = (await net.simulateAsync(movie, DT)) as Tensor;
    // flashGradients' loss (tests/browser/flash.ts): sum(forward(x) * R) from the initial state
    net.stimulus.zero(1, T);
    net.stimulus.addPreStim(FLASH);
    const x = { data: net.stimulus.call().data.slice(), shape: [1, T, N] };
    const R = tensor(Float32Array.from({ length: T * N }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5), [1, T, N]);
    const { value, grads } = await valueAndGradAsync(async (p: Record<string, Tensor>) => sum(mul(await net.forwardAsync(x, DT, { params: p }), R)))(net.trainableParams());
    return {
      adapter: gpu.adapter,
      backend: net.backend.backend,
      syncError,
      activity: base64(Float32Array.from(activity.data)),
      loss: value.item(),
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, base64(Float32Array.from(g.data))])),
      ms: performance.now() - t0,
    };
  } finally {
    net.dispose();
  }
}

(globalThis as unknown as { flyvisNetworkWebGpu: typeof run }).flyvisNetworkWebGpu = run;
