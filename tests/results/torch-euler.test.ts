// A published trained network (flyvis 0.1's opticflow/000/0000), loaded from its directory, run
// against an independent PyTorch re-implementation of flyvis's Euler step on the same graph:
//   v(0) = bias,  v += dt / max(tau, dt) * (-v + bias + sum_edges w * relu(v_source) + x_t),
//   w = sign * exp(syn_count) * max(syn_strength, 0)   (the raw tensors of best_chkpt, read by torch.load)
// The graph (sources, targets) and the parameter sharing (scatter indices) come from this
// network; everything else from the checkpoint file. Skipped, with a printed reason, without
// ../shared or a python3 with torch and numpy (FLYVIS_TORCH_PYTHON, python3, /usr/bin/python3).
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/autograd/index.ts';
import { isCategorical } from '../../src/graph/types.ts';
import { loadNetworkDir } from '../../src/results/index.ts';
import { PRETRAINED, tempDir } from './helpers.ts';

function torchPython(): string | null {
  const probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 1)";
  for (const python of [process.env.FLYVIS_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c)) {
    try {
      execFileSync(python, ['-c', probe], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

const hasNetwork = existsSync(join(PRETRAINED, '0000', 'best_chkpt'));
const python = hasNetwork ? torchPython() : null;
if (!hasNetwork) console.warn(`[results/torch-euler] skipping: ${PRETRAINED} is absent`);
else if (python === null) console.warn('[results/torch-euler] skipping: no python3 that can import torch and numpy (set FLYVIS_TORCH_PYTHON)');

const SCRIPT = `
import json, sys, numpy as np, torch
d = sys.argv[1]
meta = json.load(open(d + "/meta.json"))
i32 = lambda n: torch.from_numpy(np.fromfile(d + "/" + n + ".bin", dtype="<i4").astype(np.int64))
f32 = lambda n: torch.from_numpy(np.fromfile(d + "/" + n + ".bin", dtype="<f4"))
sd = torch.load(meta["checkpoint"], map_location="cpu")["network"]
raw = {k: v.double() for k, v in sd.items()}
bias = raw["nodes_bias"][i32("nodes_bias")]
tau = raw["nodes_time_const"][i32("nodes_time_const")]
w = (raw["edges_sign"][i32("edges_sign")] * torch.exp(raw["edges_syn_count"])[i32("edges_syn_count")]
     * raw["edges_syn_strength"].clamp(min=0)[i32("edges_syn_strength")])
src, tgt = i32("source"), i32("target")
T, N, dt = meta["frames"], meta["nodes"], meta["dt"]
x = f32("x").double().reshape(T, N)
ours = f32("ours").double().reshape(T, N)
rate = dt / torch.clamp(tau, min=dt)
v = bias.clone()
worst, scale = 0.0, 0.0
for t in range(T):
    syn = torch.zeros(N, dtype=torch.float64).index_add_(0, tgt, w * torch.relu(v[src]))
    v = v + rate * (-v + bias + syn + x[t])
    worst = max(worst, float((v - ours[t]).abs().max()))
    scale = max(scale, float(v.abs().max()))
print(json.dumps({"max_abs_diff": worst, "max_abs": scale}))
`;

describe.skipIf(python === null)('a published network against a PyTorch Euler step', () => {
  it('opticflow/000/0000: the same activity for 12 frames of a flash on the photoreceptors', async () => {
    const loaded = await loadNetworkDir(join(PRETRAINED, '0000'));
    const net = loaded.network;
    try {
      const dir = tempDir('euler');
      const T = 12;
      const dt = 1 / 50;
      const N = net.nNodes;
      // input on the photoreceptors R1-R8: grey 0.5, then 1.0 from frame 4 on
      const type = net.connectome.nodes.columns.type!;
      expect(isCategorical(type)).toBe(true);
      const cat = type as { codes: Int32Array; categories: readonly string[] };
      const x = new Float32Array(T * N);
      for (let n = 0; n < N; n++) {
        if (!/^R[1-8]$/.test(cat.categories[cat.codes[n]!]!)) continue;
        for (let t = 0; t < T; t++) x[t * N + n] = t < 4 ? 0.5 : 1;
      }
      const ours = (net.forward({ data: x, shape: [1, T, N] }, dt) as Tensor).data as Float32Array;
      const bytes = (a: Int32Array | Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (const p of net.parameters.parameters) writeFileSync(join(dir, `${p.stateDictName}.bin`), bytes(p.indices));
      writeFileSync(join(dir, 'source.bin'), bytes(net.connectome.edges.columns.source_index as Int32Array));
      writeFileSync(join(dir, 'target.bin'), bytes(net.connectome.edges.columns.target_index as Int32Array));
      writeFileSync(join(dir, 'x.bin'), bytes(x));
      writeFileSync(join(dir, 'ours.bin'), bytes(ours));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ checkpoint: loaded.checkpointFile, frames: T, nodes: N, dt }));
      const out = JSON.parse(execFileSync(python!, ['-c', SCRIPT, dir], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { max_abs_diff: number; max_abs: number };
      expect(out.max_abs).toBeGreaterThan(0.1); // the network does respond
      // float32 here, float64 there: a few float32 roundings of the largest activity
      expect(out.max_abs_diff).toBeLessThan(1e-5 * Math.max(1, out.max_abs));
    } finally {
      net.dispose();
    }
  });
});
