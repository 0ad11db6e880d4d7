// The browser test's page (bundled by tests/browser/core-in-chromium.test.ts with esbuild,
// platform 'browser', minified): loads the wasm kernel's asset and flyvis's connectome by URL,
// as a web application would, and exposes `flyvisFlash(kernel)` to the test. Only the
// platform-neutral core is imported (src/core.ts).
import { listKernels, loadWasmKernel, platform, registerConnectomeDescription } from '../../src/core.ts';
import { CONNECTOME, simulateFlash } from './flash.ts';

/** What the page returns to the test: activity as base64 float32 bytes (a compact transfer). */
export interface PageResult {
  readonly kernel: string;
  readonly ran: string;
  readonly gpuBackend?: string;
  readonly kernels: readonly { name: string; available: boolean; note?: string }[];
  readonly platform: string;
  readonly nodes: number;
  readonly frames: number;
  readonly activityBase64: string;
  readonly ms: number;
}

let ready: Promise<void> | null = null;

async function setup(): Promise<void> {
  await loadWasmKernel('./flyvis-kernels.wasm');
  const response = await fetch(`./${CONNECTOME}`);
  if (!response.ok) throw new Error(`fetching ${CONNECTOME}: HTTP ${response.status}`);
  registerConnectomeDescription(CONNECTOME, await response.json());
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function flyvisFlash(kernel: string): Promise<PageResult> {
  ready ??= setup();
  await ready;
  const t = performance.now();
  const r = simulateFlash(kernel);
  return {
    kernel: r.kernel,
    ran: r.ran,
    ...(r.gpuBackend !== undefined ? { gpuBackend: r.gpuBackend } : {}),
    kernels: listKernels().map((k) => ({ ...k })),
    platform: platform().name,
    nodes: r.nodes,
    frames: r.frames,
    activityBase64: base64(new Uint8Array(r.activity.buffer, r.activity.byteOffset, r.activity.byteLength)),
    ms: performance.now() - t,
  };
}

(globalThis as unknown as { flyvisFlash: typeof flyvisFlash }).flyvisFlash = flyvisFlash;
