#!/usr/bin/env python3
"""PyTorch CPU anchor for a `flyvis fit` training iteration, the way flyvis computes the network.

The same graph and Euler step as ../shared/bench/torch_anchor.py (gather by source, rectify,
weight, scatter-add by target; v += dt / max(tau, dt) * (-v + bias + input)), trained as
`flyvis fit` trains (and `flyvis bench` times it): from v = bias, t_pre seconds of grey (0.5)
input, then T frames of random input, the squared error against a random target averaged over
every entry, backward through every step (the grey phase too), one Adam step (lr 0.01), then
flyvis's clamp (synapse strengths non-negative). Parameters: bias and tau per node, the synapse
strength per edge, the weight sign * strength computed once per forward pass (flyvis shares the
parameters per cell type / edge group and gathers them once per forward pass, which costs the
same per step).

usage: torch_fit_anchor.py DIR [--threads N (default 2)] [--batch 1,4] [--steps 50] [--t-pre 0.2] [--iters 1]
Prints one JSON object per line: {"engine": "torch ...", "batch": B, "threads": N, "steps": T,
"fit_t_pre": S, "fit_ms_per_iter": ..., "fit_iters_per_s": ...}.
"""
import argparse, json, time
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument('dir'); ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--batch', default='1,4'); ap.add_argument('--steps', type=int, default=50)
ap.add_argument('--t-pre', type=float, default=0.2); ap.add_argument('--iters', type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
rd = lambda f, t: torch.from_numpy(np.fromfile(f'{a.dir}/{f}', dtype=t).copy())
src, tgt = rd('src.i32', '<i4').long(), rd('tgt.i32', '<i4').long()
w0, bias0 = rd('w.f32', '<f4'), rd('bias.f32', '<f4')
N, dt = bias0.numel(), 1 / 50
sign = torch.sign(w0)


def run(v, b, tau, ww, x):
    out = []
    rate = dt / torch.clamp(tau, min=dt)
    for t in range(x.shape[1]):
        e = ww * torch.relu(v.index_select(-1, src))
        cur = torch.zeros(v.shape[0], N).scatter_add_(-1, tgt.expand(v.shape[0], -1), e)
        v = v + rate * (-v + b + cur + x[:, t])
        out.append(v)
    return torch.stack(out, 1)


def iteration(params, opt, x, target, n_pre):
    b, tau, strength = params
    ww = sign * strength
    B = x.shape[0]
    v = b.expand(B, N)
    if n_pre > 0:
        v = run(v, b, tau, ww, torch.full((B, n_pre, N), 0.5))[:, -1]
    act = run(v, b, tau, ww, x)
    loss = ((act - target) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        strength.clamp_(min=0)
    return loss.item()


n_pre = int(a.t_pre / dt)
for B in map(int, a.batch.split(',')):
    params = [bias0.clone().requires_grad_(), torch.full((N,), 0.05).requires_grad_(), w0.abs().requires_grad_()]
    opt = torch.optim.Adam(params, lr=0.01)
    x = torch.rand(B, a.steps, N)
    target = torch.rand(B, a.steps, N) - 0.5
    iteration(params, opt, x[:, :2], target[:, :2], min(n_pre, 2))  # warm-up (allocator, kernels)
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        iteration(params, opt, x, target, n_pre)
        times.append(time.perf_counter() - t0)
    ms = 1000 * sorted(times)[len(times) // 2]
    print(json.dumps(dict(engine='torch ' + torch.__version__, batch=B, threads=a.threads, steps=a.steps, fit_t_pre=a.t_pre,
                          fit_ms_per_iter=round(ms, 1), fit_iters_per_s=round(1000 / ms, 4))), flush=True)
