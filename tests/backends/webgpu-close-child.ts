// Run by tests/backends/gpu-webgpu.test.ts in a child process with --expose-gc: closes the webgpu
// backend's device while read-backs are in flight, drops every reference to it and collects
// garbage, several times. Dawn (Node) crashes or hangs when its GPU object is collected under
// pending device callbacks, so this exits 0 only if everything in flight keeps the device's GPU
// object alive until it settles. Prints one JSON line: how each read-back ended.
import { closeWebGpu, createBackend, initWebGpu } from '../../src/backends/index.ts';
import { randomCase } from '../browser/gpu-cases.ts';

process.env.EGL_PLATFORM ??= 'surfaceless';
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const { create } = (await import('webgpu')) as { create(flags: string[]): unknown };

/** One round: forwards in flight, then the device closed; returns their read-backs (the only references kept). */
async function round(seed: number): Promise<Promise<unknown>[]> {
  const r = await initWebGpu({ gpu: create(['backend=opengles']) });
  if (!r.ok) throw new Error(r.reason);
  const c = randomCase(seed);
  const sim = createBackend('webgpu', c.graph).fused('ppneuron')!;
  const reads = Array.from({ length: 8 }, () => sim.forward({ ...c.request, save: false }).output.readAsync());
  closeWebGpu();
  return reads;
}

const ended: Record<string, number> = {};
for (let k = 0; k < 4; k++) {
  const reads = await round(k + 1);
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const s of await Promise.allSettled(reads)) {
    const what = s.status === 'fulfilled' ? 'read' : String((s.reason as Error).message);
    ended[what] = (ended[what] ?? 0) + 1;
  }
}
console.log(JSON.stringify(ended));
