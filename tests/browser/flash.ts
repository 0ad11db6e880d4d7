// The simulation the browser test runs in Chromium and in Node: flyvis's default network
// (flyvis's connectome at extent 15, default config) on one kernel, a short full-field flash
// (grey 0.5, then 1.0, then 0.0) from the 1 s grey steady state at dt = 1/50. Imports only the
// platform-neutral core, so the page bundle holds nothing else.
import { ConnectomeFromAvgFilters, Network, type Tensor } from '../../src/core.ts';

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
  return {
    kernel,
    ran: k.name,
    ...(k.backend ? { gpuBackend: k.backend() } : {}),
    activity: Float32Array.from(activity.data),
    nodes: net.nNodes,
    frames: FLASH.length,
  };
}
