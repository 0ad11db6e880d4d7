#!/usr/bin/env python3
"""flyvis's flow training step in PyTorch, the way flyvis computes it (flyvis/solver.py).

The network, decoder and batch are read from a folder written by bench/flow-train-step.ts
(exportFlowStep): the graph (edge sources and targets, the scatter indices of every parameter,
the photoreceptor inputs, the central cells), the raw parameter values, the decoder's state_dict
and map geometry, the batch (lum, flow) and the uniforms the dropout masks are drawn from.

One step, as MultiTaskSolver.train's handle_batch and Penalty.activity_penalty_step:
  steady state: int(t_pre_train / dt) Euler steps of grey 0.5 from v = bias, no gradient
  activity = v over the movie's Euler steps, v += dt / max(tau, dt) * (-v + bias + sum w relu(v_src) + x)
  y = DecoderGAVP(activity) in training mode (hex-masked conv, BatchNorm2d, Softplus, Dropout, conv,
      out[:, :2] / (softplus(out[:, 2:]) + 1)); loss = l2norm(y, flow)
  Adam (torch.optim.Adam, two parameter groups: network lr_net, decoder lr_dec)
  penalty = activity_penalty * mean(asym(baseline - mean_t(activity[:, T//4:, central]))**2),
  its gradient w.r.t. the penalised parameters at the parameters before Adam's step (flyvis
  backpropagates the penalty through the same graph), SGD(lr_pen) on them, then clamp.

usage: flow-train-step.py DIR --check            one step in float64; writes DIR/torch_<name>.f64
                                                   (every parameter and buffer after the step) and
                                                   prints {"loss", "penalty"}
       flow-train-step.py DIR --bench [--steps N] [--threads T]
                                                 times N steps in float32 (the same batch), prints
                                                 {"engine", "ms_per_step", "cpu_ms_per_step" (all
                                                 threads' CPU time), "steady_state_ms", ...}
"""
import argparse, json, os, resource, time
import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('dir')
ap.add_argument('--check', action='store_true')
ap.add_argument('--bench', action='store_true')
ap.add_argument('--steps', type=int, default=3)
ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
dtype = torch.float64 if a.check else torch.float32
d = a.dir
meta = json.load(open(os.path.join(d, 'meta.json')))


def rd(name, t):
    return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=t).copy())


i64 = lambda n: rd(n + '.i32', '<i4').long()
fl = lambda n: rd(n + '.f32', '<f4').to(dtype)

N, H, dt = meta['nodes'], meta['hexals'], meta['dt']
B, T = meta['batch'], meta['frames']
src, tgt = i64('source'), i64('target')
inputs = i64('input_index').reshape(-1, H)          # (input types, hexals) -> node
central = i64('central')
params = {}
for p in meta['params']:
    raw = fl('raw_' + p['name'])
    params[p['name']] = torch.nn.Parameter(raw, requires_grad=p['trainable'])
index = {p['name']: i64('idx_' + p['name']) for p in meta['params']}
transform = {p['name']: p['transform'] for p in meta['params']}
clamp = {p['name']: p['clamp'] for p in meta['params']}


def node_params():
    """flyvis's _param_api: per node / edge values by scatter index (new tensors: Adam's in-place steps leave this graph intact)."""
    v = {}
    for k, t in params.items():
        x = t.exp() if transform[k] == 'exp' else t
        v[k] = x[index[k]]
    return v


def simulate(pv, x, v0):
    bias, tau = pv['nodes_bias'], pv['nodes_time_const']
    w = pv['edges_sign'] * pv['edges_syn_count'] * pv['edges_syn_strength']
    rate = dt / torch.clamp(tau, min=dt)
    v = v0
    out = []
    for t in range(x.shape[1]):
        syn = torch.zeros(x.shape[0], N, dtype=dtype).index_add_(1, tgt, w * torch.relu(v[:, src]))
        v = v + rate * (-v + bias + syn + x[:, t])
        out.append(v)  # flyvis's activity is the voltage; currents and the decoder rectify it
    return v, torch.stack(out, 1)


def stimulus(lum):
    x = torch.zeros(lum.shape[0], lum.shape[1], N, dtype=dtype)
    for k in range(inputs.shape[0]):
        x[:, :, inputs[k]] += lum
    return x


# the decoder
dm = meta['decoder']
Hm, Wm, C0, k = dm['H'], dm['W'], dm['in_channels'], dm['kernel_size']
map_index = i64('map_index')                          # (C0 * Hm * Wm) -> node or -1
read_index = i64('read_index')                        # hexal -> map cell
mask = rd('mask.u8', np.uint8).to(dtype).reshape(k, k)
dec = {name: torch.nn.Parameter(fl('dec_' + name.replace('.', '_')).reshape(shape)) for name, shape in dm['parameters']}
buf = {name: fl('dec_' + name.replace('.', '_')).reshape(shape) for name, shape in dm['buffers']}
dropout_u = rd('dropout_u.f64', '<f8').to(dtype) if os.path.exists(os.path.join(d, 'dropout_u.f64')) else None


def decode(activity):
    S, Tn, _ = activity.shape
    R = S * Tn
    a = torch.relu(activity.reshape(R, N))
    valid = map_index >= 0
    x = torch.zeros(R, C0 * Hm * Wm, dtype=dtype)
    x[:, valid] = a[:, map_index[valid]]
    x = x.reshape(R, C0, Hm, Wm)
    with torch.no_grad():                               # Conv2dHexSpace: weight.data *= mask before every forward
        dec['base.0.weight'].data.mul_(mask)
        dec['decoder.0.weight'].data.mul_(mask)
    x = F.conv2d(x, dec['base.0.weight'], dec['base.0.bias'], padding=k // 2)
    x = F.batch_norm(x, buf['base.1.running_mean'], buf['base.1.running_var'], dec['base.1.weight'], dec['base.1.bias'],
                     training=True, momentum=0.1, eps=1e-5)
    x = F.softplus(x)
    if dropout_u is not None:
        m = (dropout_u[:x.numel()].reshape(x.shape) >= dm['p_dropout']).to(dtype) / (1 - dm['p_dropout'])
        x = x * m
    else:
        x = F.dropout(x, dm['p_dropout'], training=True)
    x = F.conv2d(x, dec['decoder.0.weight'], dec['decoder.0.bias'], padding=k // 2)
    x = x[:, :2] / (F.softplus(x[:, 2:]) + 1)
    return x.reshape(R, 2, Hm * Wm)[:, :, read_index].reshape(S, Tn, 2, -1)


lum = fl('lum').reshape(B, T, H)
flow = fl('flow').reshape(B, T, 2, H)
pen = meta['penalty']
penalized = meta['penalized']
opt = torch.optim.Adam([dict(params=list(params.values()), lr=meta['lr_net']),
                        dict(params=list(dec.values()), lr=meta['lr_dec'])])
x = stimulus(lum)


def steady_state():
    with torch.no_grad():
        pv = node_params()
        v0 = pv['nodes_bias'].expand(B, N)
        steps = int(meta['t_pre_train'] / dt)
        v, _ = simulate(pv, stimulus(torch.full((B, steps, H), 0.5, dtype=dtype)), v0)
    return v


def step(v0):
    opt.zero_grad()
    _, activity = simulate(node_params(), x, v0)
    y = decode(activity)
    loss = ((y - flow) ** 2).sum(dim=(1, 2, 3)).sqrt().mean()
    am = activity[:, T // 4:, central].mean(dim=1)
    z = pen['activity_baseline'] - am
    penalty = pen['activity_penalty'] * ((pen['below_baseline_penalty_weight'] * torch.relu(z)
                                          - pen['above_baseline_penalty_weight'] * torch.relu(-z)) ** 2).mean()
    # the penalty's gradient at the parameters before Adam's update (flyvis: the same graph)
    gpen = torch.autograd.grad(penalty, [params[n] for n in penalized], retain_graph=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        for n, g in zip(penalized, gpen):
            params[n].data.add_(g, alpha=-meta['lr_pen'])
        for name, rule in clamp.items():               # flyvis's clamp (trainable parameters)
            if params[name].requires_grad and rule == 'non_negative':
                params[name].data.clamp_(min=0)
    return loss.item(), penalty.item()


if a.check:
    v0 = steady_state()
    loss, penalty = step(v0)
    with torch.no_grad():                               # what a checkpoint saves: masked weights
        dec['base.0.weight'].data.mul_(mask)
        dec['decoder.0.weight'].data.mul_(mask)
    for name, t in list(params.items()) + list(dec.items()) + list(buf.items()):
        t.detach().numpy().astype('<f8').tofile(os.path.join(d, 'torch_' + name.replace('.', '_') + '.f64'))
    print(json.dumps(dict(loss=loss, penalty=penalty)))
else:
    t0 = time.perf_counter()
    v0 = steady_state()
    t1 = time.perf_counter()
    step(v0)  # warm-up
    t2 = time.perf_counter()
    c2 = time.process_time()
    for _ in range(a.steps):
        step(v0)
    t3 = time.perf_counter()
    c3 = time.process_time()
    print(json.dumps(dict(engine='torch ' + torch.__version__, threads=a.threads, batch=B, frames=T, nodes=N, hexals=H,
                          steady_state_ms=round(1000 * (t1 - t0), 1), first_step_ms=round(1000 * (t2 - t1), 1),
                          ms_per_step=round(1000 * (t3 - t2) / a.steps, 1),
                          cpu_ms_per_step=round(1000 * (c3 - c2) / a.steps, 1),
                          peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))), flush=True)
