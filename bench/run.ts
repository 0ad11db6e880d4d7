// `npm run bench`: `flyvis bench` for every available backend (and wasm on two threads) at batch
// 1 and 4 (each in its own process, so peak memory is per run), flyvis's PyTorch anchor
// (../shared/bench/torch_anchor.py) and the training-iteration anchor (bench/torch_fit_anchor.py)
// in the same run when python3-torch is installed, and a table of ratios to PyTorch. The machine
// is shared and noisy: compare ratios within one run; the load average before and after the run
// is printed, and our rows' CPU time per step (user + system, every thread) too, which other
// jobs' load changes far less than wall time.
//
// usage: npm run bench [-- --steps T] [--batch 1,4] [--kernels auto,wasm,...] [--repeats R] [--fit-iters K] [--fit-t-pre S] [--json FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/platform-node.ts'; // the Node platform: the wasm kernel's module from disk, worker threads
import { listBackends } from '../src/backends/index.ts';

const project = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.FLYVIS_SHARED ?? resolve(project, '..', 'shared');
const connectome = join(shared, 'flyvis', 'fib25-fib19_v2.2.json');
const arrays = join(shared, 'golden', 'arrays_extent15');
const anchor = join(shared, 'bench', 'torch_anchor.py');
const fitAnchor = join(project, 'bench', 'torch_fit_anchor.py');

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
};
const steps = Number(arg('steps', '50'));
const batches = arg('batch', '1,4').split(',').map(Number);
const backends = listBackends().filter((b) => b.available).map((b) => b.name);
const kernels = arg('kernels', ['auto', ...backends, ...(backends.includes('wasm') ? ['wasm-threads'] : [])].join(',')).split(',');
const fitIters = arg('fit-iters', '2');
const fitTPre = arg('fit-t-pre', '0.2');
const repeats = arg('repeats', '3');
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(', ');
const loadBefore = load();

interface Row {
  engine: string;
  batch: number;
  forward_ms_per_step: number;
  forward_backward_ms_per_step: number;
  peak_rss_mb: number;
  forward_peak_rss_mb?: number;
  build_ms?: number;
  fit_ms_per_iter?: number;
  fit_iters_per_s?: number;
  forward_cpu_ms_per_step?: number;
  forward_backward_cpu_ms_per_step?: number;
}

const log = (s: string): void => void process.stderr.write(s + '\n');

// The PyTorch anchor, when it can run.
let torch: Row[] = [];
let anchorNote = '';
const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
if (!existsSync(anchor) || !existsSync(arrays)) anchorNote = `PyTorch anchor not run: ${anchor} or ${arrays} is missing`;
else if (python === undefined) anchorNote = 'PyTorch anchor not run: python3 with torch and numpy is not installed (apt-get install -y python3-torch python3-numpy)';
else {
  log(`running the PyTorch anchor (${python} ${anchor}) ...`);
  const out = execFileSync(python, [anchor, arrays, '--batch', batches.join(','), '--steps', String(steps)], { encoding: 'utf8' });
  torch = out.trim().split('\n').map((l) => JSON.parse(l) as Row);
  anchorNote = `PyTorch anchor: ${torch[0]?.engine ?? 'torch'}, ${(torch[0] as unknown as { threads?: number })?.threads ?? '?'} threads`;
  if (Number(fitIters) > 0) {
    log(`running the PyTorch training-iteration anchor (${fitAnchor}) ...`);
    const fitOut = execFileSync(python, [fitAnchor, arrays, '--batch', batches.join(','), '--steps', String(steps), '--t-pre', fitTPre, '--iters', '1'], { encoding: 'utf8' });
    for (const l of fitOut.trim().split('\n')) {
      const r = JSON.parse(l) as Row;
      const t = torch.find((x) => x.batch === r.batch);
      if (t) Object.assign(t, { fit_ms_per_iter: r.fit_ms_per_iter, fit_iters_per_s: r.fit_iters_per_s });
    }
  }
}

const useFlyvis = existsSync(connectome);
const ours: (Row & { kernel: string })[] = [];
for (const kernel of kernels) {
  for (const batch of batches) {
    log(`flyvis bench --kernel ${kernel} --batch ${batch} ...`);
    const r = spawnSync(
      process.execPath,
      ['bin/flyvis.mjs', 'bench', ...(useFlyvis ? ['--connectome', connectome] : []), '--extent', '15', '--batch', String(batch), '--steps', String(steps), '--kernel', kernel,
        '--fit-iters', fitIters, '--fit-t-pre', fitTPre, '--repeats', repeats, '--json'],
      { cwd: project, encoding: 'utf8' },
    );
    if (r.status !== 0) {
      log(`  failed: ${r.stderr.trim()}`);
      continue;
    }
    const row = JSON.parse(r.stdout) as Row & { kernel: string; backend: string };
    const name = row.kernel === row.backend ? row.backend : `${row.backend}/${row.kernel}`;
    ours.push({ ...row, engine: 'flyvis-ts', kernel: kernel === 'auto' ? `auto (${name})` : name });
  }
}

const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const ratio = (t: number | undefined, o: number): string => (t === undefined ? '-' : `${(t / o).toFixed(1)}x`);
const header = [
  'engine / backend', 'batch', 'fwd ms/step', 'fwd vs torch', 'fwd+bwd ms/step', 'fwd+bwd vs torch', 'fwd peak MB', 'fwd+bwd peak MB', 'torch MB / ours',
  'fit it/s', 'fit vs torch', 'build ms', 'fwd cpu ms', 'fwd+bwd cpu ms',
];
const lines = [header];
for (const t of torch) {
  lines.push([t.engine, String(t.batch), f(t.forward_ms_per_step, 3), '1.0x', f(t.forward_backward_ms_per_step, 3), '1.0x', '-', f(t.peak_rss_mb, 0), '1.0x', f(t.fit_iters_per_s, 3), '1.0x', '-', '-', '-']);
}
for (const o of ours) {
  const t = torch.find((x) => x.batch === o.batch);
  lines.push([
    o.kernel, String(o.batch), f(o.forward_ms_per_step, 3), ratio(t?.forward_ms_per_step, o.forward_ms_per_step),
    f(o.forward_backward_ms_per_step, 3), ratio(t?.forward_backward_ms_per_step, o.forward_backward_ms_per_step),
    f(o.forward_peak_rss_mb, 0), f(o.peak_rss_mb, 0), ratio(t?.peak_rss_mb, o.peak_rss_mb),
    f(o.fit_iters_per_s, 2), t?.fit_iters_per_s === undefined || o.fit_iters_per_s === undefined ? '-' : `${(o.fit_iters_per_s / t.fit_iters_per_s).toFixed(0)}x`, f(o.build_ms, 0),
    f(o.forward_cpu_ms_per_step, 3), f(o.forward_backward_cpu_ms_per_step, 3),
  ]);
}
const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
const table = lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
process.stdout.write(
  `extent 15 (${useFlyvis ? connectome : 'the synthetic demo connectome: ../shared is absent'}), ${steps} steps; fit: one training iteration (${fitTPre} s of grey, ` +
    `the ${steps} frames, masked MSE, backward through all, Adam, clamp); ratios > 1 mean flyvis-ts is faster / smaller\n` +
    `${anchorNote}; load average (1, 5, 15 min) ${loadBefore} before, ${load()} after\n\n${table}\n`,
);
const jsonOut = arg('json', '');
if (jsonOut) {
  mkdirSync(dirname(resolve(jsonOut)), { recursive: true });
  writeFileSync(resolve(jsonOut), JSON.stringify({ steps, torch, ours, anchorNote, loadBefore, loadAfter: load() }, null, 2));
}
