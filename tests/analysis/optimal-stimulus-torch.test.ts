// The regularised optimal stimulus against flyvis's loop in PyTorch (optimal-stimulus-torch.py:
// flyvis's loss, torch.optim.Adam, the same network as arrays): the target response, the loss
// and its terms at every iteration, and the movie after the loop. Needs /usr/bin/python3 with
// torch (skipped with a printed reason otherwise); the trained network needs ../shared/flyvis.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { naturalOptimalStimulus, naturalisticMovies, regularizedOptimalStimulus } from '../../src/analysis/optimal-stimulus-natural.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/compile.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { ProceduralFlow } from '../../src/datasets/index.ts';
import { Network } from '../../src/network/network.ts';
import { sharedPath } from '../helpers/shared.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(fileURLToPath(import.meta.url), '..', 'optimal-stimulus-torch.py');
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`[optimal-stimulus-torch test] skipped: ${PYTHON} with torch is not available`);
const member = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000', 'best_chkpt');
const haveTrained = existsSync(member) && existsSync(sharedPath('flyvis', 'fib25-fib19_v2.2.json'));
if (hasTorch && !haveTrained) console.warn('[optimal-stimulus-torch test] trained-network case skipped: ../shared/flyvis is absent');

const dt = 1 / 100;

function crossCheck(net: Network, cellType: string, options: { l2Act: number; l2Stim: number; lr: number; iterations: number }) {
  const H = net.stimulus.nInputElements;
  const extent = Math.round((-3 + Math.sqrt(9 + 12 * (H - 1))) / 6);
  const movies = naturalisticMovies(new ProceduralFlow({ split: 'validation', nSequences: 1, extent, frames: 2, dt }), { flipAxes: [0], rotations: [0, 3] });
  const natural = naturalOptimalStimulus(net, cellType, movies);
  const reg = regularizedOptimalStimulus(net, cellType, natural, options);
  const p = net.paramApi();
  const input = {
    dt,
    n_nodes: net.nNodes,
    bias: Array.from(p.nodes.bias!.data),
    time_const: Array.from(p.nodes.time_const!.data),
    weight: Array.from(p.edges.weight!.data),
    source: Array.from(net.connectome.edges.columns.source_index as Int32Array),
    target: Array.from(net.connectome.edges.columns.target_index as Int32Array),
    input_index: net.stimulus.inputIndex.map((idx) => Array.from(idx)),
    central_node: natural.centralNode,
    shape: natural.shape,
    natural: Array.from(natural.stimulus),
    lr: options.lr,
    l2_act: options.l2Act,
    l2_stim: options.l2Stim,
    n_iters: options.iterations,
  };
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-optstim-torch-'));
  try {
    writeFileSync(join(dir, 'in.json'), JSON.stringify(input));
    const out = JSON.parse(execFileSync(PYTHON, [SCRIPT, join(dir, 'in.json')], { encoding: 'utf8', maxBuffer: 64e6 })) as {
      target: number[];
      losses: [number, number, number][];
      stimulus: number[];
    };
    return { natural, reg, torch: out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasTorch)("regularizedOptimalStimulus against flyvis's loop in PyTorch", () => {
  // [what, network, cell type, options, whether the activity term is large enough to check its share]
  const cases: [string, () => Network, string, { l2Act: number; l2Stim: number; lr: number; iterations: number }, boolean][] = [
    ['the demo connectome (untrained: tiny responses)', () => Network.fromConnectome(demoConnectome(2)), 'T4a', { l2Act: 1, l2Stim: 1, lr: 1e-2, iterations: 3 }, false],
  ];
  if (haveTrained) {
    cases.push([
      "flyvis's connectome at extent 4, trained network flow/0000/000",
      () => {
        const net = Network.fromConnectome(ConnectomeFromAvgFilters(sharedPath('flyvis', 'fib25-fib19_v2.2.json'), 4));
        net.loadCheckpoint(member);
        return net;
      },
      'T4c',
      { l2Act: 1, l2Stim: 1, lr: 1e-2, iterations: 4 },
      true,
    ]);
  }
  for (const [what, make, cellType, options, activityMatters] of cases) {
    it(`${what}: same target, losses at every iteration and final movie`, () => {
      const { natural, reg, torch } = crossCheck(make(), cellType, options);
      torch.target.forEach((x, t) => expect(natural.centralResponse[t]).toBeCloseTo(x, 5));
      expect(reg.losses).toHaveLength(options.iterations);
      torch.losses.forEach(([loss, act, stim], i) => {
        const l = reg.losses[i]!;
        expect(Math.abs(l.loss - loss), `loss ${i}`).toBeLessThan(1e-5 * Math.abs(loss) + 1e-7);
        expect(Math.abs(l.act - act), `act ${i}`).toBeLessThan(2e-4 * Math.abs(act) + 1e-7);
        expect(Math.abs(l.stim - stim), `stim ${i}`).toBeLessThan(1e-5 * Math.abs(stim));
      });
      // the activity term starts at 0 (the target is the natural movie's own response) and grows once the movie moves
      expect(torch.losses[0]![1]).toBe(0);
      if (activityMatters) expect(torch.losses.at(-1)![1]).toBeGreaterThan(5e-5 * torch.losses.at(-1)![0]);
      let worst = 0;
      torch.stimulus.forEach((x, k) => (worst = Math.max(worst, Math.abs(reg.stimulus[k]! - x))));
      expect(worst).toBeLessThan(2e-6);
    });
  }
});
