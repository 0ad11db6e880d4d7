// The core/Node split (docs/platform.md), checked statically: the import graph of src/core.ts,
// and of every file under src/ that is not an explicit Node edge, reaches no Node built-in
// module (esbuild bundles it for platform 'neutral', dependencies left external, and its metafile
// lists the imports), and no core file uses `process` or `Buffer` (their code, comments
// stripped by esbuild, is searched). A new file under src/ is core unless listed here.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/**
 * The Node edge: file I/O, the CLI, worker threads, the AssemblyScript build, PNG decoding and
 * rendering, results directories, HDF5, interrupts and locks, and the entry points that install
 * the Node platform. Folder entries end with '/'.
 */
export const NODE_EDGE: readonly string[] = [
  'src/index.ts', 'src/node.ts', 'src/platform-node.ts', 'src/budget-env.ts',
  'src/cli/', 'src/results/',
  'src/graph/paths.ts', 'src/graph/demo.ts',
  'src/io/atomic.ts', 'src/io/hdf5.ts', 'src/io/interrupt.ts', 'src/io/json.ts', 'src/io/lock.ts', 'src/io/npy-stream.ts',
  'src/io/output.ts', 'src/io/read-bounded.ts', 'src/io/sidecar.ts', 'src/io/torch/node.ts', 'src/io/torch/index.ts',
  'src/kernels/wasm-build.ts', 'src/kernels/wasm-worker-node.ts',
  'src/stimuli/png.ts', 'src/stimuli/load.ts', 'src/stimuli/index.ts',
  'src/analysis/ensemble.ts', 'src/analysis/ensemble-worker.ts', 'src/analysis/index.ts',
  // PlotError lives beside the resvg renderer (src/plot/render.ts, which writes files), so the
  // Vega-Lite spec builders come with it.
  'src/plot/', 'src/analysis/plots.ts',
  'src/train/loop.ts', 'src/train/state.ts', 'src/train/index.ts',
  'src/task/decoder-source.ts', // reads flyvis network directories (src/results)
  'src/datasets/flow/node.ts', 'src/datasets/flow/sintel-node.ts', 'src/datasets/flow/spec.ts', // MPI Sintel from disk
  'src/task/train-results.ts', // writes flyvis results directories (chkpts, HDF5 validation, _meta.yaml)
  'src/task/conv2d-hex-wasm-build.ts', // compiles conv2dHex's wasm kernels (AssemblyScript) into conv2d-hex-wasm-bytes.ts
  'src/ensemble/', // child processes, claims on disk, the Redis queue
];

const isEdge = (rel: string): boolean => NODE_EDGE.some((e) => (e.endsWith('/') ? rel.startsWith(e) : rel === e));

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.d.ts'))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)));
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Bundles `entries` (platform neutral, dependencies external); the files it reaches, and each
 * import by a core file of a Node built-in or of a Node edge file.
 */
async function nodeImports(entries: readonly string[]): Promise<{ inputs: string[]; offenders: string[] }> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: entries.map((e) => join(ROOT, e)),
    bundle: true,
    write: false,
    outdir: 'out',
    platform: 'neutral',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    // Dependencies stay external (the browser test bundles them for a browser); Node built-ins
    // must be marked external too or the neutral platform fails to resolve them.
    plugins: [{
      name: 'external',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('/') ? undefined : { path: a.path, external: true }));
      },
    }],
  });
  const offenders: string[] = [];
  for (const [file, meta] of Object.entries(result.metafile.inputs)) {
    if (isEdge(file)) continue;
    for (const i of meta.imports) {
      if (NODE_BUILTINS.has(i.path)) offenders.push(`${file} imports ${i.path}`);
      else if (i.path.startsWith('src/') && isEdge(i.path)) offenders.push(`${file} imports ${i.path} (Node edge)`);
    }
  }
  return { inputs: Object.keys(result.metafile.inputs), offenders };
}

describe('the platform-neutral core', () => {
  const all = sources(join(ROOT, 'src'));
  const core = all.filter((f) => !isEdge(f));

  it('src/core.ts reaches no Node built-in module', async () => {
    const { inputs, offenders } = await nodeImports(['src/core.ts']);
    expect(offenders).toEqual([]);
    // it reaches the network, autograd, dynamics, kernels, graph compiler, stimuli and analyses
    for (const f of ['src/network/network.ts', 'src/autograd/tape.ts', 'src/dynamics/ppneuron.ts', 'src/kernels/wasm.ts', 'src/kernels/gpujs.ts',
      'src/graph/compile.ts', 'src/stimuli/datasets.ts', 'src/analysis/dsi.ts', 'src/init/checkpoint.ts']) {
      expect(inputs, f).toContain(f);
    }
    // and no Node edge file
    expect(inputs.filter((f) => f.startsWith('src/') && isEdge(f))).toEqual([]);
  });

  it('no file under src/ outside the Node edge reaches a Node built-in module', async () => {
    expect(core.length).toBeGreaterThan(100);
    const { offenders } = await nodeImports(core);
    expect(offenders).toEqual([]);
  });

  it('no core file uses process or Buffer', async () => {
    const { transform } = await import('esbuild');
    const uses: string[] = [];
    for (const f of core) {
      const { code } = await transform(readFileSync(join(ROOT, f), 'utf8'), { loader: 'ts', format: 'esm' });
      // identifiers, not property names (x.process) or parts of names (ArrayBuffer)
      for (const m of code.matchAll(/(?<![.\w$])(process|Buffer)(?![\w$])/g)) {
        const line = code.slice(0, m.index).split('\n').length;
        const text = code.split('\n')[line - 1]!.trim();
        // inside a string or template text (a message that names them) is no use
        const before = code.slice(code.lastIndexOf('\n', m.index) + 1, m.index);
        if ((before.split("'").length - 1) % 2 === 1 || (before.split('`').length - 1) % 2 === 1 || (before.split('"').length - 1) % 2 === 1) continue;
        uses.push(`${f}: ${text}`);
      }
    }
    expect(uses).toEqual([]);
  });

  it('the Node edge list names files that exist', () => {
    for (const e of NODE_EDGE) expect(all.some((f) => (e.endsWith('/') ? f.startsWith(e) : f === e)), e).toBe(true);
  });
});
