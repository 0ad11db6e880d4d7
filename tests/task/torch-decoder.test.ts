// flyvis's flow decoder against PyTorch. A published trained network (flyvis 0.1's
// opticflow/000/0000) and its decoder (best_chkpt's decoder.flow) decode the same activity here
// and in an independent PyTorch rebuild of flyvis's DecoderGAVP (plain torch modules named as
// flyvis's, loaded from the checkpoint with load_state_dict(strict=True); the hex mask applied to
// weight.data in place before the forward pass, as Conv2dHexSpace does; the output types' nodes
// found from the connectome file by flyvis's node rule), in float64 so that the reference carries
// no float32 rounding. Compared: the flow in evaluation mode (float32 here, as predict-flow runs
// it, and float64), the flow in training mode with the same dropout mask and the running averages
// after it, the l2norm / epe values and every gradient of an l2norm loss (decoder weights, the
// masked kernel entries included, and the activity), and a decoder state_dict saved here, loaded
// by torch.
// Skipped, with a printed reason, without ../shared or a python3 with torch and numpy.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Tensor, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { saveTorchFile } from '../../src/io/torch/node.ts';
import { TorchDict } from '../../src/io/torch/values.ts';
import { loadNetworkDir } from '../../src/results/index.ts';
import { decode, decoderGAVP, decoderParamsFromStateDict, decoderStateDict, decoderTrainable, flowDecoderConfigOf } from '../../src/task/decoder.ts';
import { epe, l2norm } from '../../src/task/objectives.ts';
import { rng as seeded, uniform } from '../autograd/fd.ts';
import { CONNECTOME_FILE } from '../helpers/shared.ts';
import { PRETRAINED, tempDir } from '../results/helpers.ts';
import { torchPython } from './helpers.ts';

const hasNetwork = existsSync(join(PRETRAINED, '0000', 'best_chkpt')) && existsSync(CONNECTOME_FILE);
const python = hasNetwork ? torchPython() : null;
if (!hasNetwork) console.warn(`[task/torch-decoder] skipping: ${PRETRAINED} or ${CONNECTOME_FILE} is absent`);
else if (python === null) console.warn('[task/torch-decoder] skipping: no python3 that can import torch and numpy (set FLYVIS_TORCH_PYTHON)');

const SCRIPT = String.raw`
import json, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
d = sys.argv[1]
meta = json.load(open(d + "/meta.json"))
spec = json.load(open(meta["connectome"]))
E = meta["extent"]

def hex_coords(e):  # flyvis.utils.hex_utils.get_hex_coords
    u, v = [], []
    for q in range(-e, e + 1):
        for r in range(max(-e, -e - q), min(e, e - q) + 1):
            u.append(q); v.append(r)
    return np.array(u), np.array(v)

# node types in flyvis's node order: each type in spec order, its lattice points by its pattern
types = []
for node in spec["nodes"]:
    kind, arg = node["pattern"]
    su, sv, e = (arg[0], arg[1], E) if kind == "stride" else (arg, arg, E) if kind == "tile" else (1, 1, 0)
    for a, b in zip(*hex_coords(e)):
        if a % su == 0 and b % sv == 0:
            types.append(node["name"])
types = np.array(types)
out_idx = np.array([np.nonzero(types == t)[0] for t in spec["output_units"]])
u, v = hex_coords(E); u -= u.min(); v -= v.min(); H, W = u.max() + 1, v.max() + 1

class Decoder(nn.Module):  # flyvis's DecoderGAVP(shape=[8, 2], kernel_size=5, p_dropout=0.5)
    def __init__(self):
        super().__init__()
        self.base = nn.Sequential(nn.Conv2d(34, 8, 5, padding=2), nn.BatchNorm2d(8), nn.Softplus(), nn.Dropout(0.5))
        self.decoder = nn.Sequential(nn.Conv2d(8, 3, 5, padding=2))

ckpt = torch.load(meta["checkpoint"], map_location="cpu")
mu, mv = hex_coords(2); mu -= mu.min(); mv -= mv.min()
mask = torch.zeros(5, 5, dtype=torch.float64); mask[mu, mv] = 1

def fresh():
    dec = Decoder(); dec.load_state_dict(ckpt["decoder"]["flow"], strict=True); return dec.double()  # float64 throughout

def forward(dec, act, drop=None):
    for conv in (dec.base[0], dec.decoder[0]):
        conv.weight.data.mul_(mask)  # Conv2dHexSpace.filter_to_hex
    x = F.relu(act[:, :, out_idx])
    S, T, C, _ = x.shape
    x_map = torch.zeros([S, T, C, H, W], dtype=x.dtype)
    x_map[:, :, :, u, v] = x
    x_map = x_map.view(-1, C, H, W)
    y = dec.base[2](dec.base[1](dec.base[0](x_map)))
    y = dec.base[3](y) if drop is None else y * drop
    out = dec.decoder(y)
    out = out[:, :2] / (F.softplus(out[:, 2:]) + 1)
    return out.view(S, T, 2, H, W)[:, :, :, u, v]

act = torch.from_numpy(np.load(d + "/activity.npy"))
target = torch.from_numpy(np.load(d + "/target.npy"))
res = {}
dec = fresh(); dec.eval()
with torch.no_grad():
    flow = forward(dec, act)
np.save(d + "/flow_eval.npy", flow.numpy())
res["l2norm"] = float(((flow - target) ** 2).sum(dim=(1, 2, 3)).sqrt().mean())
res["epe"] = float(torch.sqrt(((flow - target) ** 2).sum(dim=2)).mean())

# training mode, dropout mask from the uniforms the test drew: keep where u >= p, scale 1 / (1 - p)
uni = torch.from_numpy(np.load(d + "/uniforms.npy"))
drop = (uni >= 0.5).double() / (1 - 0.5)
dec = fresh(); dec.train()
a = act.clone().requires_grad_(True)
flow_t = forward(dec, a, drop)
loss = ((flow_t - target) ** 2).sum(dim=(1, 2, 3)).sqrt().mean()
loss.backward()
res["train_l2norm"] = float(loss)
np.save(d + "/flow_train.npy", flow_t.detach().numpy())
np.save(d + "/grad_activity.npy", a.grad.numpy())
for k, p in dec.named_parameters():
    np.save(d + "/grad_" + k + ".npy", p.grad.numpy())
for k in ("running_mean", "running_var"):
    np.save(d + "/" + k + ".npy", getattr(dec.base[1], k).numpy())
res["num_batches_tracked"] = int(dec.base[1].num_batches_tracked)
res["masked_grad_max"] = float((dec.base[0].weight.grad * (1 - mask)).abs().max())

# a state_dict saved by flyvis-ts: loads strictly, equal to the checkpoint's
saved = torch.load(d + "/saved.pt", map_location="cpu")["decoder"]["flow"]
Decoder().load_state_dict(saved, strict=True)
orig = ckpt["decoder"]["flow"]
res["saved_keys"] = list(saved.keys()) == list(orig.keys())
res["saved_equal"] = all(saved[k].dtype == orig[k].dtype and torch.equal(saved[k], orig[k]) for k in orig)
print(json.dumps(res))
`;

const npy = (file: string): { data: Float64Array; shape: readonly number[] } => {
  const a = readNpy(file);
  expect(a.descr).toBe('<f8');
  return { data: a.data as Float64Array, shape: a.shape };
};

/** max |a - b| / max |b| (or max |scaleOf|): the error relative to the array's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>, scaleOf: ArrayLike<number> = b): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  for (let i = 0; i < scaleOf.length; i++) scale = Math.max(scale, Math.abs(scaleOf[i]!));
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

describe.skipIf(python === null)("flyvis's flow decoder against PyTorch", () => {
  it('opticflow/000/0000: flow (eval and train), running averages, objectives, gradients and the saved state_dict', async () => {
    const loaded = await loadNetworkDir(join(PRETRAINED, '0000'));
    const net = loaded.network;
    try {
      const dir = tempDir('decoder');
      const H = net.stimulus.nInputElements;
      const [S, T, dt] = [2, 4, 1 / 50];
      // a moving grating, a different direction per sample
      const movie = new Float32Array(S * T * H);
      for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) movie[(s * T + t) * H + h] = 0.5 + 0.4 * Math.sin(0.9 * h * (s + 1) + 0.7 * t);
      const state = net.steadyState(0.25, dt, S);
      const activity = net.simulate({ data: movie, shape: [S, T, 1, H] }, dt, { initialState: state }) as Tensor;
      const decoder = decoderGAVP(flowDecoderConfigOf(loaded.config) as Record<string, unknown>, net.connectome);
      const params = decoderParamsFromStateDict(decoder, loaded.decoder!.flow!);
      const params64 = decoderParamsFromStateDict(decoder, loaded.decoder!.flow!, { dtype: 'float64' });
      const activity64 = tensor(Float64Array.from(activity.data), activity.shape, 'float64');
      const hexals = decoder.geometry.nHexals;
      const target = tensor(Float64Array.from({ length: S * T * 2 * hexals }, (_, i) => 0.3 * Math.cos(i * 0.37)), [S, T, 2, hexals], 'float64');
      const R = S * T;
      const uniforms = uniform(seeded(7), R * 8 * decoder.geometry.H * decoder.geometry.W, 0, 1);
      let next = 0;
      const rng = (): number => uniforms[next++]!;

      const flowEval32 = decode(decoder, params, activity).output; // as predict-flow computes it
      const flowEval = decode(decoder, params64, activity64).output;
      const train = valueAndGrad((p: { activity: Tensor; dec: Record<string, Tensor> }) => {
        next = 0;
        return l2norm(decode(decoder, { ...params64, ...p.dec }, p.activity, { training: true, rng }).output, target);
      })({ activity: activity64, dec: decoderTrainable(decoder, params64) });
      next = 0;
      const trained = decode(decoder, params64, activity64, { training: true, rng });

      writeFileSync(join(dir, 'activity.npy'), encodeNpy(activity64.data as Float64Array, activity.shape));
      writeFileSync(join(dir, 'target.npy'), encodeNpy(target.data as Float64Array, target.shape));
      writeFileSync(join(dir, 'uniforms.npy'), encodeNpy(uniforms, [R, 8, decoder.geometry.H, decoder.geometry.W]));
      saveTorchFile(join(dir, 'saved.pt'), new TorchDict([['decoder', new TorchDict([['flow', decoderStateDict(decoder, params)]])]]));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ checkpoint: loaded.checkpointFile, connectome: CONNECTOME_FILE, extent: 15 }));
      const res = JSON.parse(execFileSync(python!, ['-c', SCRIPT, dir], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Record<string, number | boolean>;

      // evaluation mode: the flow (float32 as predict-flow runs; float64), and the objectives on it
      const torchFlow = npy(join(dir, 'flow_eval.npy')).data;
      expect(flowEval32.shape).toEqual([S, T, 2, hexals]);
      expect(relError(flowEval32.data, torchFlow)).toBeLessThan(1e-6);
      expect(relError(flowEval.data, torchFlow)).toBeLessThan(1e-12);
      expect(l2norm(flowEval, target).item()).toBeCloseTo(res.l2norm as number, 12);
      expect(epe(flowEval, target).item()).toBeCloseTo(res.epe as number, 12);
      // training mode with the same dropout mask: flow, loss, running averages
      expect(relError(trained.output.data, npy(join(dir, 'flow_train.npy')).data)).toBeLessThan(1e-12);
      expect(train.value.item()).toBeCloseTo(res.train_l2norm as number, 12);
      expect(relError(trained.buffers['base.1.running_mean']!.data, npy(join(dir, 'running_mean.npy')).data)).toBeLessThan(1e-12);
      expect(relError(trained.buffers['base.1.running_var']!.data, npy(join(dir, 'running_var.npy')).data)).toBeLessThan(1e-12);
      expect(trained.buffers['base.1.num_batches_tracked']!.item()).toBe(res.num_batches_tracked);
      // gradients: torch's weight.grad includes the masked kernel entries (the in-place mask)
      expect(res.masked_grad_max).toBeGreaterThan(0);
      for (const name of decoder.parameterNames) {
        // base.0.bias feeds batch normalisation in training mode, which subtracts the batch mean:
        // its gradient is 0 in exact arithmetic (rounding noise on both sides), so gradients are
        // compared at the scale of their layer's weight gradient
        const layerWeight = npy(join(dir, `grad_${name.replace(/\.bias$/, '.weight')}.npy`)).data;
        expect(relError(train.grads.dec[name]!.data, npy(join(dir, `grad_${name}.npy`)).data, layerWeight), name).toBeLessThan(1e-10);
      }
      expect(relError(train.grads.activity.data, npy(join(dir, 'grad_activity.npy')).data)).toBeLessThan(1e-10);
      // the saved state_dict
      expect(res.saved_keys).toBe(true);
      expect(res.saved_equal).toBe(true);
      // and the flow does not simply vanish
      expect(flowEval32.data.some((x) => Math.abs(x) > 1e-3)).toBe(true);
    } finally {
      net.dispose();
    }
  });
});
