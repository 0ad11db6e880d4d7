// Synapse kernel benchmark on flyvis's extent-15 graph (shared/golden/arrays_extent15):
//   npx tsx bench/kernels.ts [--batch 1,4] [--kernels wasm,runs,...] [--repeats 7] [--no-torch]
// For each available kernel (and, for the runs kernels, with weight groups), per batch size:
// median over repeats of ms per step of the forward target sum, and of forward + backward
// (gv and per-edge gw; with groups also gv and per-group gw via backwardGroups). Prints one JSON
// line per measurement; then, if PyTorch is installed, runs shared/bench/torch_anchor.py in the
// same run and prints ratios (torch ms / kernel ms). Noisy on a shared 2-core machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import '../src/platform-node.ts'; // the Node platform: the wasm kernel's module from disk, worker threads
import { makeActivation } from '../src/kernels/activation.ts';
import { type KernelName, createSynapseKernel, listKernels } from '../src/kernels/index.ts';
import type { EdgeIndex } from '../src/kernels/synapse.ts';
import { GOLDEN_DIR, SHARED_DIR } from '../tests/helpers/shared.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const batches = arg('batch', '1,4').split(',').map(Number);
const repeats = Number(arg('repeats', '7'));
const only = arg('kernels', '');
const dir = `${GOLDEN_DIR}/arrays_extent15`;
const rd = (f: string): ArrayBuffer => {
  const b = readFileSync(`${dir}/${f}`);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const edges: EdgeIndex = { nNodes: new Float32Array(rd('bias.f32')).length, source: new Int32Array(rd('src.i32')), target: new Int32Array(rd('tgt.i32')) };
const w = new Float32Array(rd('w.f32'));
const N = edges.nNodes;
const E = w.length;
// flyvis's (source type, target type, du, dv) groups are stretches of equal weight (see tests)
const groups = new Int32Array(E);
for (let e = 1; e < E; e++) groups[e] = groups[e - 1]! + (w[e] !== w[e - 1] ? 1 : 0);

const median = (a: number[]): number => a.slice().sort((x, y) => x - y)[a.length >> 1]!;
const relu = makeActivation();
const names = listKernels()
  .filter((k) => k.available && k.name !== 'scatter' && (!only || only.split(',').includes(k.name)))
  .map((k) => k.name);
const variants: { name: KernelName; grouped: boolean }[] = names.flatMap((name) => [
  { name, grouped: false },
  ...(['runs', 'wasm', 'wasm-threads'].includes(name) ? [{ name, grouped: true }] : []),
]);
if (!only || only.split(',').includes('scatter')) variants.unshift({ name: 'scatter', grouped: false });

interface Row {
  kernel: string;
  batch: number;
  forward_ms_per_step: number;
  forward_backward_ms_per_step: number;
  forward_backward_groups_ms_per_step?: number;
  construct_ms: number;
}
const rows: Row[] = [];
for (const { name, grouped } of variants) {
  const t0 = performance.now();
  const k = createSynapseKernel(edges, relu, { kernel: name, ...(grouped ? { weightGroups: groups } : {}) });
  const constructMs = performance.now() - t0;
  const bound = k.bind(w);
  for (const B of batches) {
    const v = Float32Array.from({ length: B * N }, () => Math.random() * 2 - 0.5);
    const g = Float32Array.from({ length: B * N }, () => Math.random() - 0.5);
    const out = new Float32Array(B * N);
    const gv = new Float32Array(B * N);
    const gw = new Float32Array(E);
    const gG = new Float32Array(k.nGroups ?? 0);
    const slow = name === 'scatter' || name === 'gpujs';
    const steps = slow ? 3 : 10;
    const time = (fn: () => void): number => {
      fn();
      const ts: number[] = [];
      for (let r = 0; r < (slow ? 3 : repeats); r++) {
        const t = performance.now();
        for (let s = 0; s < steps; s++) fn();
        ts.push((performance.now() - t) / steps);
      }
      return +median(ts).toFixed(3);
    };
    const row: Row = {
      kernel: name + (grouped ? '+groups' : ''),
      batch: B,
      forward_ms_per_step: time(() => bound.forward(v, B, out)),
      forward_backward_ms_per_step: time(() => {
        bound.forward(v, B, out);
        bound.backward(v, g, B, gv, gw);
      }),
      construct_ms: +constructMs.toFixed(1),
    };
    if (bound.backwardGroups) {
      row.forward_backward_groups_ms_per_step = time(() => {
        bound.forward(v, B, out);
        bound.backwardGroups!(v, g, B, gv, gG);
      });
    }
    rows.push(row);
    console.log(JSON.stringify({ engine: 'flyvis-ts', nodes: N, edges: E, ...row }));
  }
  k.dispose?.();
}

if (!process.argv.includes('--no-torch')) {
  const script = `${SHARED_DIR}/bench/torch_anchor.py`;
  const python = ['/usr/bin/python3', 'python3'].find((p) => {
    try {
      execFileSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) console.log(JSON.stringify({ torch: 'not installed (apt-get install -y python3-torch python3-numpy): no ratios' }));
  else {
    const lines = execFileSync(python, [script, dir, '--batch', batches.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 })
      .trim()
      .split('\n');
    for (const line of lines) {
      const t = JSON.parse(line) as { batch: number; forward_ms_per_step: number; forward_backward_ms_per_step: number };
      console.log(line);
      for (const r of rows.filter((x) => x.batch === t.batch)) {
        const best = Math.min(r.forward_backward_ms_per_step, r.forward_backward_groups_ms_per_step ?? Infinity);
        console.log(
          JSON.stringify({
            ratio: `torch / ${r.kernel}`,
            batch: t.batch,
            forward: +(t.forward_ms_per_step / r.forward_ms_per_step).toFixed(2),
            forward_backward: +(t.forward_backward_ms_per_step / best).toFixed(2),
          }),
        );
      }
    }
  }
}
