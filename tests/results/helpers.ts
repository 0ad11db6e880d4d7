// Helpers for the results-directory tests: temp results trees in flyvis's layouts, HDF5 files
// written with h5wasm (datamate's one dataset `data` per file), and the shared reference data.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sharedPath } from '../helpers/shared.ts';

export const PRETRAINED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
export const RESULTS_V1 = sharedPath('golden', 'results-v1', 'flow', '0000');

/** A fresh temp folder for one test. */
export const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `flyvis-results-${tag}-`));

/** Writes an HDF5 file with the given datasets (shape [] for a scalar). */
export async function writeH5(
  file: string,
  datasets: Record<string, { data: Float64Array | Float32Array | Int32Array; shape?: number[] } | string>,
): Promise<void> {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  mkdirSync(dirname(file), { recursive: true });
  const f = new h5wasm.File(file, 'w');
  try {
    for (const [name, d] of Object.entries(datasets)) {
      if (typeof d === 'string') f.create_dataset({ name, data: d });
      else f.create_dataset({ name, data: d.data, shape: d.shape ?? [d.data.length] });
    }
  } finally {
    f.close();
  }
}

/** Writes `_meta.yaml` (JSON, as datamate writes it). */
export function writeMeta(dir: string, config: Record<string, unknown>, status = 'done'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '_meta.yaml'), JSON.stringify({ config, status }));
}

/** flyvis 1.x's network config at `extent` (the one of ../shared/golden/results-v1). */
export const networkConfig1x = (extent = 15, file = 'fib25-fib19_v2.2.json'): Record<string, unknown> => ({
  connectome: { type: 'ConnectomeFromAvgFilters', file, extent, n_syn_fill: 1 },
  dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: 'relu' } },
  node_config: {
    bias: { type: 'RestingPotential', groupby: ['type'], initial_dist: 'Normal', mode: 'sample', requires_grad: true, mean: 0.5, std: 0.05, penalize: { activity: true }, seed: 0 },
    time_const: { type: 'TimeConstant', groupby: ['type'], initial_dist: 'Value', value: 0.05, requires_grad: true },
  },
  edge_config: {
    sign: { type: 'SynapseSign', initial_dist: 'Value', requires_grad: false, groupby: ['source_type', 'target_type'] },
    syn_count: { type: 'SynapseCount', initial_dist: 'Lognormal', mode: 'mean', requires_grad: false, std: 1.0, groupby: ['source_type', 'target_type', 'dv', 'du'] },
    syn_strength: { type: 'SynapseCountScaling', initial_dist: 'Value', requires_grad: true, scale: 0.01, clamp: 'non_negative', groupby: ['source_type', 'target_type'] },
  },
});

/**
 * A flyvis 1.x network directory: _meta.yaml, chkpts/chkpt_<n> for each given checkpoint (file
 * bytes; empty when only the choice is tested) and validation files.
 */
export async function makeNetworkDir1x(
  dir: string,
  options: {
    checkpoints: Record<string, Uint8Array>;
    validation?: Partial<Record<'epe' | 'loss', number[]>>;
    network?: Record<string, unknown>;
  },
): Promise<string> {
  writeMeta(dir, { type: 'NetworkDir', network: options.network ?? networkConfig1x() });
  mkdirSync(join(dir, 'chkpts'), { recursive: true });
  for (const [name, bytes] of Object.entries(options.checkpoints)) writeFileSync(join(dir, 'chkpts', name), bytes);
  for (const [name, values] of Object.entries(options.validation ?? {})) {
    await writeH5(join(dir, 'validation', `${name}.h5`), { data: { data: Float64Array.from(values!) } });
  }
  return dir;
}
