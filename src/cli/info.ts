// `flyvis info [--connectome FILE] [--extent N] [--n-syn-fill X]`: compiles a connectome (the
// built-in synthetic demo by default) and prints one JSON object describing it, including the
// graph digests other checks compare against flyvis's.
import { resolve } from 'node:path';
import { compileConnectome } from '../graph/compile.ts';
import { edgesDigest, nodesDigest } from '../graph/digest.ts';
import { loadConnectomeSpec } from '../graph/load.ts';
import { connectomeFileOf, findConnectomeFile } from '../graph/paths.ts';
import type { ConnectomeSpec } from '../graph/spec.ts';
import { categoricalColumn } from '../graph/table.ts';
import type { Connectome } from '../graph/types.ts';
import { defaultEdgeConfig, defaultNodeConfig, initParameters, numParameters, numTrainableParameters } from '../init/index.ts';
import { formatHelp, parseArgs, runCommand, type OptionSpecs } from './args.ts';
import { applyBudgetOptions } from './budget.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS } from './common.ts';

const OPTIONS = { ...CONNECTOME_OPTIONS } as const satisfies OptionSpecs;

const SUMMARY =
  'Compiles a connectome as flyvis does (ConnectomeFromAvgFilters) and prints one JSON object:\n' +
  'sizes, the cell types (names, roles, nodes per type; counts per role), and the nodes/edges\n' +
  'SHA-256 digests of the compiled graph.';

/** What an info field contributor sees. */
export interface InfoContext {
  /** Absolute path of the connectome description. */
  readonly file: string;
  readonly spec: ConnectomeSpec;
  readonly connectome: Connectome;
  readonly extent: number;
  readonly nSynFill: number;
}

/** Adds fields to the `flyvis info` object (later stages add e.g. num_parameters). */
export type InfoFields = (ctx: InfoContext) => Readonly<Record<string, unknown>>;

/** Number of nodes per role value. */
function nodesPerRole(c: Connectome, role: string): number {
  const column = categoricalColumn(c.nodes, 'nodes', 'role');
  if (column === undefined) return 0;
  const k = column.categories.indexOf(role);
  return column.codes.reduce((n, code) => n + (code === k ? 1 : 0), 0);
}

/** Each cell type in unique_cell_types order: name, role (output before input, as flyvis's nodes.role) and number of nodes. */
function cellTypeList(c: Connectome): { name: string; role: string; n_nodes: number }[] {
  const inputs = new Set(c.inputCellTypes);
  const outputs = new Set(c.outputCellTypes);
  return c.uniqueCellTypes.map((name) => ({
    name,
    role: outputs.has(name) ? 'output' : inputs.has(name) ? 'input' : 'intermediate',
    n_nodes: c.layerIndex.get(name)?.length ?? 0,
  }));
}

/** The connectome's own fields: sizes, cell types (counts per role, names, roles, nodes per type) and the digests. */
const connectomeFields: InfoFields = ({ file, spec, connectome: c, extent, nSynFill }) => ({
  connectome: file,
  ...(typeof spec.raw.description === 'string' ? { description: spec.raw.description } : {}),
  extent,
  n_syn_fill: nSynFill,
  n_nodes: c.nodes.length,
  n_edges: c.edges.length,
  n_cell_types: c.uniqueCellTypes.length,
  cell_types: {
    input: c.inputCellTypes.length,
    intermediate: c.intermediateCellTypes.length,
    output: c.outputCellTypes.length,
  },
  n_input: nodesPerRole(c, 'input'),
  n_output: nodesPerRole(c, 'output'),
  // flyvis's connectome.unique_cell_types, input_cell_types, intermediate_cell_types, output_cell_types.
  unique_cell_types: [...c.uniqueCellTypes],
  cell_type_names: {
    input: [...c.inputCellTypes],
    intermediate: [...c.intermediateCellTypes],
    output: [...c.outputCellTypes],
  },
  cell_type_list: cellTypeList(c),
  nodes_sha256: nodesDigest(c),
  edges_sha256: edgesDigest(c),
});

/** Parameter counts of a network with flyvis's default configuration (flyvis `num_parameters`). */
const parameterFields: InfoFields = ({ connectome }) => {
  const set = initParameters(connectome, defaultNodeConfig(), defaultEdgeConfig());
  return { num_parameters: numParameters(set), num_trainable_parameters: numTrainableParameters(set) };
};

const contributors: InfoFields[] = [connectomeFields, parameterFields];

/** Registers more `flyvis info` fields; they are merged after the earlier ones, in order. */
export function registerInfoFields(fields: InfoFields): void {
  contributors.push(fields);
}

/** The `flyvis info` object for a compiled connectome. */
export function infoSummary(ctx: InfoContext): Record<string, unknown> {
  return Object.assign({}, ...contributors.map((f) => f(ctx))) as Record<string, unknown>;
}

/** Runs `flyvis info`; returns the exit code (0 ok, 2 bad arguments or connectome file). */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'info',
    () => {
      const { options, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('info', SUMMARY, OPTIONS));
        return 0;
      }
      applyBudgetOptions(options);
      const file = connectomeFileOf(options.connectome);
      const spec = loadConnectomeSpec(file);
      const extent = options.extent;
      const nSynFill = options['n-syn-fill'];
      const connectome = compileConnectome(spec, extent, nSynFill);
      const ctx: InfoContext = { file: findConnectomeFile(file) ?? resolve(file), spec, connectome, extent, nSynFill };
      process.stdout.write(JSON.stringify(infoSummary(ctx), null, 2) + '\n');
      return 0;
    },
    BAD_INPUT,
  );
}
