// `flyvis train --task flow --out DIR ...`: the results directory in flyvis 1.x's layout (loaded by
// loadNetworkDir, and by torch.load with flyvis's key names, shapes and optimiser state_dicts),
// refusals (an existing DIR without --resume, bad flags and inputs: one line, exit 2, nothing
// written), Ctrl-C then --resume ending exactly where an uninterrupted run ends, --init from a
// checkpoint or a network directory. flyvis's connectome at extent 1, tiny procedural sets.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as train } from '../../src/cli/train.ts';
import { readHdf5Dataset } from '../../src/io/hdf5.ts';
import { loadTorchFile } from '../../src/io/torch/node.ts';
import { TorchDict, TorchTensor } from '../../src/io/torch/values.ts';
import { loadNetworkDir } from '../../src/results/index.ts';
import { torchPython } from '../task/helpers.ts';
import { flyvis, flyvisChild, inProcess, lastJsonLine } from './fit-helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-train-'));
const SMALL = ['--connectome', 'fib25-fib19_v2.2.json', '--extent', '1', '--train-items', '8', '--val-items', '2', '--progress-every', '0'];
const python = torchPython();

const tensorOf = (file: string, ...path: string[]): TorchTensor => {
  let v = loadTorchFile(file) as TorchDict;
  for (const k of path.slice(0, -1)) v = v.get(k) as TorchDict;
  return v.get(path.at(-1)!) as TorchTensor;
};

describe('flyvis train', () => {
  it("writes flyvis 1.x's layout: loadNetworkDir and torch.load read it", async () => {
    const dir = join(tmp(), 'run');
    const r = await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '4', '--checkpoint-every', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/flyvis train: iter 4\/4 +loss \d\.\d{4}e[+-]\d+ +val EPE \d\.\d{4} .* left 0\.0s/);
    const summary = lastJsonLine(r.stdout) as unknown as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'done', iters: 4, iteration: 4, checkpoints: 3 });
    expect(readdirSync(join(dir, 'chkpts'))).toEqual(['chkpt_00000', 'chkpt_00001', 'chkpt_00002']);
    for (const f of ['loss.h5', 'loss_flow.h5', 'activity.h5', 'activity_min.h5', 'activity_max.h5', 'chkpt_index.h5', 'chkpt_iter.h5', 'best_chkpt_index.h5', 'dt.h5', 'time_trained.h5']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect([...(await readHdf5Dataset(join(dir, 'chkpt_iter.h5'))).values]).toEqual([-1, 1, 3]);
    expect([...(await readHdf5Dataset(join(dir, 'validation', 'iteration.h5'))).values]).toEqual([0, 2, 4]);
    expect((await readHdf5Dataset(join(dir, 'loss.h5'))).values).toHaveLength(4);
    const epe = (await readHdf5Dataset(join(dir, 'validation', 'epe.h5'))).values;
    expect(epe).toHaveLength(3);
    const meta = JSON.parse(readFileSync(join(dir, '_meta.yaml'), 'utf8')) as { config: Record<string, any>; status: string };
    expect(meta.status).toBe('done');
    expect(meta.config).toMatchObject({
      type: 'NetworkDir', task_name: 'flow',
      network: { connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 1, n_syn_fill: 1 } },
      task: { n_iters: 4, batch_size: 4, loss: { flow: 'l2norm' }, decoder: { flow: { type: 'DecoderGAVP', shape: [8, 2] } } },
      optim: { type: 'Adam' }, penalizer: { optim: 'SGD' }, scheduler: { lr_net: { function: 'stepwise', start: 5e-5, stop: 5e-6, steps: 10 } },
    });
    // loadNetworkDir: the best checkpoint by validation/epe.h5 (flyvis's rule), the flow decoder
    const loaded = await loadNetworkDir(dir);
    expect(loaded.layout).toBe('1.x');
    expect(loaded.validationFile).toBe(join(dir, 'validation', 'epe.h5'));
    expect(loaded.validationLoss).toBe(Math.min(...epe));
    expect(Object.keys(loaded.decoder ?? {})).toEqual(['flow']);
    const last = join(dir, 'chkpts', 'chkpt_00002');
    expect(Array.from(loaded.network.stateDict().nodes_bias!)).toHaveLength(65);
    expect(tensorOf(last, 'decoder', 'flow', 'base.0.weight').shape).toEqual([8, 34, 5, 5]);
    loaded.network.dispose();
  }, 60_000);

  it.skipIf(python === null)("torch.load: flyvis's keys and shapes; the optimisers' state_dicts load into torch's Adam and SGD", async () => {
    const dir = join(tmp(), 'run');
    expect((await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '2', '--lr', '1e-3')).code).toBe(0);
    const script = `
import sys, json, torch
c = torch.load(sys.argv[1])
net = [torch.nn.Parameter(v.clone(), requires_grad=k in ('nodes_bias', 'nodes_time_const', 'edges_syn_strength')) for k, v in c['network'].items()]
dec = [torch.nn.Parameter(v.clone()) for k, v in c['decoder']['flow'].items() if 'running' not in k and 'num_batches' not in k]
adam = torch.optim.Adam([dict(params=net, lr=1.0), dict(params=dec, lr=1.0)]); adam.load_state_dict(c['optim'])
sgd = torch.optim.SGD([net[0]], lr=1.0); sgd.load_state_dict(c['activity_optim'])
print(json.dumps(dict(keys=list(c.keys()), network={k: list(v.shape) for k, v in c['network'].items()},
  decoder={k: [list(v.shape), str(v.dtype)] for k, v in c['decoder']['flow'].items()}, iteration=c['iteration'], dt=c['dt'],
  val_loss=c['val_loss'], time=c['time'], steps=sorted(float(s['step']) for s in adam.state_dict()['state'].values()),
  lr=[g['lr'] for g in adam.param_groups], sgd_lr=sgd.param_groups[0]['lr'])))`;
    const out = JSON.parse(execFileSync(python!, ['-c', script, join(dir, 'chkpts', 'chkpt_00001')], { encoding: 'utf8' })) as Record<string, any>;
    expect(out.keys).toEqual(['network', 'decoder', 'optim', 'time', 'val_loss', 'iteration', 'dt', 'activity_optim']);
    expect(Object.keys(out.network)).toEqual(['nodes_bias', 'nodes_time_const', 'edges_sign', 'edges_syn_count', 'edges_syn_strength']);
    expect(out.network.nodes_bias).toEqual([65]);
    expect(out.decoder['base.1.num_batches_tracked']).toEqual([[], 'torch.int64']);
    expect(out.decoder['decoder.0.weight']).toEqual([[3, 8, 5, 5], 'torch.float32']);
    // --lr 1e-3: stepwise to 1e-4; 2 iterations are fewer than the 10 steps, so numpy's schedule is all stop
    expect(out).toMatchObject({ iteration: 1, dt: 0.02, lr: [1e-4, 1e-4], sgd_lr: 1e-4 });
    expect(out.steps).toEqual(Array(9).fill(2)); // 3 network + 6 decoder parameters stepped twice
    expect(out.time).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
  }, 60_000);

  it('refuses bad input in one line, exit 2, nothing written', async () => {
    const base = tmp();
    const dir = join(base, 'run');
    const bad = async (pattern: RegExp, ...args: string[]) => {
      const r = await inProcess(train, ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(dir)).toBe(false);
    };
    await bad(/^flyvis train: --task is required/, '--out', dir, ...SMALL);
    await bad(/^flyvis train: --task: expected flow .* got 'depth'/, '--task', 'depth', '--out', dir, ...SMALL);
    await bad(/^flyvis train: --out is required/, '--task', 'flow', ...SMALL);
    await bad(/dataset: expected 'procedural' or 'sintel:PATH'/, '--task', 'flow', '--out', dir, ...SMALL, '--dataset', 'pixels');
    await bad(/--train-items: applies to --dataset procedural only/, '--task', 'flow', '--out', dir, ...SMALL, '--dataset', 'sintel:/nowhere');
    await bad(/the training set has 8 items, fewer than the batch size 9/, '--task', 'flow', '--out', dir, ...SMALL, '--batch-size', '9');
    await bad(/--resume: .* does not exist; run without --resume/, '--task', 'flow', '--out', dir, ...SMALL, '--resume');
    await bad(/no such file or directory/, '--task', 'flow', '--out', dir, ...SMALL, '--init', join(base, 'missing.pt'));
    await bad(/--iters: /, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '-1');
    await bad(/^flyvis train: --lr: expected START or START:STOP, positive numbers .* got 'fast'/, '--task', 'flow', '--out', dir, ...SMALL, '--lr', 'fast');
    // an existing directory is refused without --resume, and left as it was
    const first = await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '1');
    expect(first.code).toBe(0);
    const listing = readdirSync(dir).sort();
    const meta = readFileSync(join(dir, '_meta.yaml'), 'utf8');
    const again = await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '1');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--out .*run: holds a flyvis train run; continue it with --resume/);
    expect(readdirSync(dir).sort()).toEqual(listing);
    expect(readFileSync(join(dir, '_meta.yaml'), 'utf8')).toBe(meta);
    // --resume of another run's settings is refused naming them
    const other = await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '3', '--seed', '5', '--resume');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/a different run: iters: this run has 3, the saved run 1; seed: this run has 5, the saved run 0/);
  }, 60_000);

  it('Ctrl-C saves the run and exits 130; --resume ends exactly where an uninterrupted run ends', async () => {
    const base = tmp();
    const args = ['--task', 'flow', ...SMALL, '--iters', '10', '--checkpoint-every', '4'];
    const whole = flyvis('train', ...args, '--out', join(base, 'whole'));
    expect(whole.code, whole.stderr).toBe(0);
    const dir = join(base, 'stopped');
    const child = flyvisChild('train', ...args, '--out', dir);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/iter +1\/10/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const m = /interrupted at iteration (\d+) of 10; the run is saved in/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(10);
    const resumed = flyvis('train', ...args, '--out', dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readdirSync(join(dir, 'chkpts'))).toEqual(readdirSync(join(base, 'whole', 'chkpts')));
    for (const name of readdirSync(join(dir, 'chkpts'))) {
      const a = join(base, 'whole', 'chkpts', name);
      const b = join(dir, 'chkpts', name);
      for (const k of ['nodes_bias', 'nodes_time_const', 'edges_syn_strength']) expect(tensorOf(b, 'network', k).data, `${name} ${k}`).toEqual(tensorOf(a, 'network', k).data);
      for (const k of ['base.0.weight', 'base.1.running_var', 'decoder.0.bias']) expect(tensorOf(b, 'decoder', 'flow', k).data, `${name} ${k}`).toEqual(tensorOf(a, 'decoder', 'flow', k).data);
      if (name !== 'chkpt_00000') {
        const adam = (f: string) => ((((loadTorchFile(f) as TorchDict).get('optim') as TorchDict).get('state') as TorchDict).get(0n) as TorchDict).get('exp_avg_sq') as TorchTensor;
        expect(adam(b).data, `${name} optim`).toEqual(adam(a).data);
      }
    }
    for (const f of ['loss.h5', 'validation/epe.h5', 'validation/loss.h5']) {
      expect((await readHdf5Dataset(join(dir, f))).values, f).toEqual((await readHdf5Dataset(join(base, 'whole', f))).values);
    }
  }, 120_000);

  it('--init: the network and flow decoder of a checkpoint or a network directory', async () => {
    const base = tmp();
    const src = join(base, 'src');
    expect((await inProcess(train, '--task', 'flow', '--out', src, ...SMALL, '--iters', '2')).code).toBe(0);
    const chkpt = join(src, 'chkpts', 'chkpt_00001');
    for (const [name, init] of [['from-chkpt', chkpt], ['from-dir', src]] as const) {
      const dir = join(base, name);
      const r = await inProcess(train, '--task', 'flow', '--out', dir, ...SMALL, '--iters', '0', '--init', init);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/\(network and flow decoder\)/);
      const start = join(dir, 'chkpts', 'chkpt_00000');
      // the network directory's best checkpoint (by epe.h5) is the source
      const from = name === 'from-chkpt' ? chkpt : (await loadNetworkDir(src)).checkpointFile;
      expect(tensorOf(start, 'network', 'nodes_bias').data).toEqual(tensorOf(from, 'network', 'nodes_bias').data);
      expect(tensorOf(start, 'decoder', 'flow', 'base.0.weight').data).toEqual(tensorOf(from, 'decoder', 'flow', 'base.0.weight').data);
      expect(tensorOf(start, 'decoder', 'flow', 'base.1.running_mean').data).toEqual(tensorOf(from, 'decoder', 'flow', 'base.1.running_mean').data);
    }
  }, 60_000);
});
