"""flyvis's regularized_optimal_stimuli loop (flyvis/analysis/optimal_stimuli.py) in PyTorch, on a
network given as arrays, for tests/analysis/optimal-stimulus-torch.test.ts.

Reads a JSON file (argv[1]): the network's nodes (bias, time_const), edges (source, target,
weight = sign * syn_count * syn_strength), the input index (per photoreceptor type, the node of
each hexal), dt, the central node, the natural movie (frames, hexals) and the loop's settings.
Simulates flyvis's PPNeuronIGRSynapses dynamics (Euler steps of
dv/dt = (-v + bias + sum_edges weight * relu(v_source) + x_t) / max(time_const, dt)), from the
1 s grey steady state, and runs the loop as flyvis writes it: torch.optim.Adam on the movie, loss
l2_act * ((central - target) ** 2).sum() + l2_stim * ((movie - 0.5) ** 2).mean(dim=0).sum(),
target the natural movie's own central response. Prints JSON: the target, the losses, the movie
after the loop. float32, as flyvis.
"""

import json
import sys

import torch

d = json.load(open(sys.argv[1]))
f32 = torch.float32
dt = d["dt"]
n_nodes = d["n_nodes"]
bias = torch.tensor(d["bias"], dtype=f32)
rate = 1 / torch.max(torch.tensor(d["time_const"], dtype=f32), torch.tensor(dt, dtype=f32))
source = torch.tensor(d["source"], dtype=torch.long)
target_index = torch.tensor(d["target"], dtype=torch.long)
weight = torch.tensor(d["weight"], dtype=f32)
input_index = [torch.tensor(i, dtype=torch.long) for i in d["input_index"]]
central = d["central_node"]
n_frames, n_hexals = d["shape"]
natural = torch.tensor(d["natural"], dtype=f32).reshape(1, n_frames, 1, n_hexals)


def to_nodes(movie):
    """(frames, hexals) -> (frames, nodes): every photoreceptor type at a hexal gets its value."""
    x = torch.zeros(movie.shape[0], n_nodes, dtype=f32)
    for idx in input_index:
        x = x.index_add(1, idx, movie)
    return x


def simulate(x, v):
    out = []
    for t in range(x.shape[0]):
        syn = torch.zeros(n_nodes, dtype=f32).index_add(0, target_index, weight * torch.relu(v[source]))
        v = v + dt * (rate * (-v + bias + syn + x[t]))
        out.append(v)
    return torch.stack(out), v


with torch.no_grad():
    steps = int(1.0 / dt)
    _, initial_state = simulate(to_nodes(torch.full((steps, n_hexals), 0.5, dtype=f32)), bias.clone())
    central_target_response = simulate(to_nodes(natural[0, :, 0]), initial_state)[0][:, central].clone()

reg_opt_stim = natural.clone()
reg_opt_stim.requires_grad = True
optim = torch.optim.Adam([reg_opt_stim], lr=d["lr"])
losses = []
for _ in range(d["n_iters"]):
    optim.zero_grad()
    activities = simulate(to_nodes(reg_opt_stim[0, :, 0]), initial_state)[0]
    central_predicted_response = activities[:, central]
    act_loss = d["l2_act"] * ((central_predicted_response - central_target_response) ** 2).sum()
    stim_loss = d["l2_stim"] * ((reg_opt_stim - 0.5) ** 2).mean(dim=0).sum()
    loss = act_loss + stim_loss
    loss.backward(retain_graph=True)
    optim.step()
    losses.append([loss.item(), act_loss.item(), stim_loss.item()])

print(json.dumps({
    "target": central_target_response.tolist(),
    "losses": losses,
    "stimulus": reg_opt_stim.detach().reshape(-1).tolist(),
}))
