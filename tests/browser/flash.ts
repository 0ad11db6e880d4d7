// The simulation the browser test runs in Chromium and in Node: flyvis's default network
// (flyvis's connectome at extent 15, default config) on one kernel, a short full-field flash
// (grey 0.5, then 1.0, then 0.0) from the 1 s grey steady state at dt = 1/50. Imports only the
// platform-neutral core, so the page bundle holds nothing else.
import { ConnectomeFromAvgFilters, Network, type Tensor, mul, sum, tensor, valueAndGrad } from '../../src/core.ts';
import type { GpujsInstance } from '../../src/backends/gpujs.ts';

export const CONNECTOME = 'fib25-fib19_v2.2.json';
export const EXTENT = 15;
export const DT = 1 / 50;
/** The flash, one intensity per frame. */
export const FLASH = [0.5, 1, 1, 1, 0, 0, 0, 0];

export interface FlashResult {
  /** The kernel asked for, the synapse kernel the network ran, and gpu.js's backend (gpujs). */
  readonly kernel: string;
  readonly ran: string;
  readonly gpuBackend?: string;
  /** Activity (1, frames, nodes) as float32 bytes. */
  readonly activity: Float32Array;
  readonly nodes: number;
  readonly frames: number;
}

/** Builds the network on `kernel` (the connectome must be loadable by name here) and simulates the flash. */
export function simulateFlash(kernel: string): FlashResult {
  const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel });
  const H = net.stimulus.nInputElements;
  const data = new Float32Array(FLASH.length * H);
  FLASH.forEach((x, t) => data.fill(x, t * H, (t + 1) * H));
  const activity = net.simulate({ data, shape: [1, FLASH.length, 1, H] }, DT) as Tensor;
  const k = net.kernel as { name: string; backend?: () => string };
  // gpu.js's backend: the gpujs backend's scan (the fused path), or the gpujs synapse kernel's
  const gpuBackend = net.backend.backend === 'gpujs' ? (net.backend as GpujsInstance).scan().ranOn : k.backend?.();
  return {
    kernel,
    ran: k.name,
    ...(gpuBackend !== undefined ? { gpuBackend } : {}),
    activity: Float32Array.from(activity.data),
    nodes: net.nNodes,
    frames: FLASH.length,
  };
}

export interface FlashGradients {
  readonly backend: string;
  readonly loss: number;
  /** d loss / d parameter, by state_dict name. */
  readonly grads: Record<string, Float32Array>;
}

/**
 * The gradients of sum(activity * R) over the flash (from the initial state, R a fixed pattern)
 * with respect to the network's trainable parameters, on `kernel`.
 */
export function flashGradients(kernel: string): FlashGradients {
  const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel });
  try {
    const N = net.nNodes;
    const T = FLASH.length;
    net.stimulus.zero(1, T);
    net.stimulus.addPreStim(FLASH);
    const x = { data: net.stimulus.call().data.slice(), shape: [1, T, N] };
    const R = tensor(Float32Array.from({ length: T * N }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5), [1, T, N]);
    const { value, grads } = valueAndGrad((p: Record<string, Tensor>) => sum(mul(net.forward(x, DT, { params: p }), R)))(net.trainableParams());
    return { backend: net.backend.backend, loss: value.data[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.data)])) };
  } finally {
    net.dispose();
  }
}
