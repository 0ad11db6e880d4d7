// The 'webgpu' backend for the commands (`--kernel webgpu`): WebGPU in Node comes from the
// `webgpu` package (Dawn), installed alongside flyvis-ts (`npm install webgpu@0.6.2`; a
// devDependency here). Dawn runs on its OpenGL ES backend over EGL without a display by default
// (what works on machines without a GPU: Mesa's llvmpipe; Dawn's Vulkan path crashes there on
// full-size dispatches); FLYVIS_DAWN_FLAGS replaces Dawn's flags (comma separated, e.g.
// 'backend=vulkan' on a machine with a GPU). docs/kernels.md describes the backend.
import { acceptedNames } from '../backends/registry.ts';
import { initWebGpu, webgpuInfo } from '../backends/webgpu.ts';
import { NetworkError } from '../network/network.ts';

/**
 * Refuses a `kernel` no backend answers to (as a Network would: bad input, exit 2), and makes the
 * 'webgpu' backend available when `kernel` names it (bad input when it cannot be). Called before a
 * network is built, and by `flyvis analyze --ensemble` before its worker threads start (they share
 * the environment set here).
 */
export async function prepareKernel(kernel: string | undefined): Promise<void> {
  if (kernel !== undefined && !acceptedNames().includes(kernel)) {
    throw new NetworkError(`kernel: unknown kernel '${kernel}' (available: ${acceptedNames().join(', ')})`);
  }
  if (kernel !== 'webgpu' || webgpuInfo().ok) return;
  // Dawn's GL backend without a display: EGL's surfaceless platform (read when Dawn loads EGL)
  process.env.EGL_PLATFORM ??= 'surfaceless';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let create: (flags: string[]) => unknown;
  try {
    ({ create } = (await import('webgpu' as string)) as { create(flags: string[]): unknown });
  } catch (e) {
    throw new NetworkError(`--kernel webgpu: WebGPU in Node needs the webgpu package (npm install webgpu@0.6.2): ${(e as Error).message.split('\n')[0]}`);
  }
  const flags = (process.env.FLYVIS_DAWN_FLAGS ?? 'backend=opengles').split(',').map((f) => f.trim()).filter((f) => f !== '');
  const r = await initWebGpu({ gpu: create(flags) });
  if (!r.ok) throw new NetworkError(`--kernel webgpu: no WebGPU device (Dawn flags ${flags.join(',')}): ${r.reason}`);
}
