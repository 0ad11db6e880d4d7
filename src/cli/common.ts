// What the commands that build a network share: the connectome / extent / n-syn-fill / params /
// kernel flags, building the network from them, and the error classes that mean bad input (exit 2).
import { basename } from 'node:path';
import { BudgetError } from '../budget.ts';
import { FlowDatasetError } from '../datasets/flow/errors.ts';
import { DecoderError } from '../task/hex-map.ts';
import { Hdf5Error } from '../io/hdf5.ts';
import { TorchFileError } from '../io/torch/index.ts';
import { ResultsError, applyParamsSource, loadParamsSource } from '../results/index.ts';
import { BUDGET_OPTIONS, applyBudgetOptions } from './budget.ts';
import { compileConnectome } from '../graph/compile.ts';
import { connectomeFileOf } from '../graph/paths.ts';
import { ConnectomeError, loadConnectomeSpec } from '../graph/load.ts';
import type { Connectome } from '../graph/types.ts';
import { CheckpointError, ParameterConfigError } from '../init/index.ts';
import { JsonFileError } from '../io/json.ts';
import { OutputPathError } from '../io/output.ts';
import { NpyError } from '../io/npy.ts';
import { NonFiniteError } from '../io/finite.ts';
import { Network, NetworkError, type NetworkOptions } from '../network/network.ts';
import { StimulusError } from '../network/stimulus.ts';
import type { ErrorClass, OptionSpecs } from './args.ts';
import { acceptedNames } from '../backends/registry.ts';
import { prepareKernel } from './webgpu.ts';

/** --connectome, --extent, --n-syn-fill, and the budget's --max-memory, --max-steps. */
export const CONNECTOME_OPTIONS = {
  connectome: { type: 'string', metavar: 'FILE', help: "connectome description in flyvis's JSON schema, or a name in data/ (default: flyvis's fib25-fib19_v2.2.json; 'demo': the small synthetic demo)" },
  extent: { type: 'integer', metavar: 'N', min: 0, default: 15, help: 'lattice radius, in columns' },
  // Counts are stored as float32: a fill above its range would become Infinity deep inside the
  // parameter configuration, so it is refused here, naming the flag.
  'n-syn-fill': { type: 'number', metavar: 'X', min: 0, max: 3.4e38, default: 1, help: 'synapse count given to offsets filled into the convex hull (0: no fill)' },
  // Every command that builds a connectome takes the budget flags (docs/budget.md).
  ...BUDGET_OPTIONS,
} as const satisfies OptionSpecs;

/**
 * --kernel: the backend (or synapse kernel) the network runs on. The commands simulate through
 * the network's asynchronous methods, so every backend works, 'webgpu' included (Dawn in Node,
 * started by networkFromOptions: src/cli/webgpu.ts).
 */
export const KERNEL_OPTION = {
  kernel: { type: 'string', metavar: 'NAME', default: 'auto', help: `backend or synapse kernel (${acceptedNames().join(', ')}; webgpu: Dawn in Node, the webgpu package)` },
} as const satisfies OptionSpecs;

/** --params, with the command's own placeholder and help. */
export const paramsOption = (metavar = 'CKPT', help = "parameters: a state_dict JSON, a torch checkpoint (.pt) or a flyvis network directory (its best checkpoint) (default: flyvis's initialization)") =>
  ({ params: { type: 'string', metavar, help } }) as const satisfies OptionSpecs;

/** Errors that mean bad input rather than a failure of the program: exit code 2. */
export const BAD_INPUT: readonly ErrorClass[] = [
  ConnectomeError, JsonFileError, NpyError, CheckpointError, ParameterConfigError, NetworkError, StimulusError, NonFiniteError,
  OutputPathError, BudgetError, ResultsError, Hdf5Error, TorchFileError, DecoderError, FlowDatasetError,
];

/** The files the connectome / params flags read (an output must not replace them). */
export function connectomeInputs(o: { readonly connectome?: string | undefined; readonly params?: string | undefined }): { flag: string; path: string | undefined }[] {
  return [
    { flag: 'connectome', path: o.connectome },
    { flag: 'params', path: o.params },
  ];
}

interface ConnectomeFlags {
  readonly connectome?: string | undefined;
  readonly extent: number;
  readonly 'n-syn-fill'?: number | undefined;
  readonly 'max-memory'?: number | undefined;
  readonly 'max-steps'?: number | undefined;
}

/** The connectome the flags name (flyvis's without --connectome). */
export function connectomeFromOptions(o: ConnectomeFlags): Connectome {
  applyBudgetOptions(o);
  return compileConnectome(loadConnectomeSpec(connectomeFileOf(o.connectome)), o.extent, o['n-syn-fill'] ?? 1);
}

/**
 * The network on that connectome, on the backend `options.kernel` names (starting Dawn for
 * 'webgpu': prepareKernel), with --params loaded when given: a state_dict JSON, a torch
 * checkpoint (.pt: a state_dict or flyvis's dict with a `network` entry) or a flyvis network
 * directory (its best checkpoint, by flyvis's rule). Parameters whose sizes do not fit say which
 * --extent they fit; warnings about parameters that load but are suspect go to `warn` (default: a
 * `flyvis: warning:` line on stderr).
 */
export async function networkFromOptions(
  o: ConnectomeFlags & { readonly params?: string | undefined },
  options: NetworkOptions = {},
  warn: (message: string) => void = (m) => void process.stderr.write(`flyvis: warning: ${m}\n`),
): Promise<Network> {
  applyBudgetOptions(o);
  await prepareKernel(options.kernel);
  const file = connectomeFileOf(o.connectome);
  const spec = loadConnectomeSpec(file);
  const nSynFill = o['n-syn-fill'] ?? 1;
  const net = Network.fromConnectome(compileConnectome(spec, o.extent, nSynFill), {}, options);
  if (o.params !== undefined) {
    applyParamsSource(net, await loadParamsSource(o.params), {
      connectome: { spec, extent: o.extent, nSynFill, name: basename(file) },
      advice: (extent) => `pass --extent ${extent}`,
      onWarning: warn,
    });
  }
  return net;
}
