// `flyvis info`, run as a user runs it (node bin/flyvis.mjs info ...), and the shared argument
// parser it is built on (src/cli/args.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatHelp, parseArgs, UsageError, type OptionSpecs } from '../../src/cli/args.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { edgesDigest, nodesDigest } from '../../src/graph/digest.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { CONNECTOME_FILE, GOLDEN_DIR, hasShared, PROJECT_DIR } from '../helpers/shared.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function flyvis(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'flyvis-info-'));
const malformed = join(dir, 'malformed.json');
writeFileSync(
  malformed,
  JSON.stringify({
    nodes: [{ name: 'R1', pattern: ['stride', [1, 1]] }],
    edges: [{ src: 'R1', tar: 'Q', alpha: 1, offsets: [[[0, 0], 1]], lambda_mult: 1 }],
    input_units: ['R1'],
    output_units: [],
  }),
);

const cases = {
  default: ['info'],
  demo: ['info', '--connectome', 'demo'],
  demoSmall: ['info', '--connectome', 'demo', '--extent=2', '--n-syn-fill', '0'],
  flyvis: ['info', '--connectome', CONNECTOME_FILE, '--extent', '2'],
  flyvis15: ['info', '--connectome', CONNECTOME_FILE],
  help: ['info', '--help'],
  unknownFlag: ['info', '--extnt', '3'],
  badExtent: ['info', '--extent', '2.5'],
  negativeFill: ['info', '--n-syn-fill', '-1'],
  hugeFill: ['info', '--n-syn-fill', '1e308'],
  missingValue: ['info', '--connectome'],
  missingFile: ['info', '--connectome', join(dir, 'absent.json')],
  malformed: ['info', '--connectome', malformed],
} as const;

describe('flyvis info (command line)', () => {
  const runs: Partial<Record<keyof typeof cases, Run>> = {};
  beforeAll(async () => {
    const names = Object.keys(cases) as (keyof typeof cases)[];
    const results = await Promise.all(names.map((n) => flyvis(...cases[n])));
    names.forEach((n, i) => (runs[n] = results[i]));
  });

  it("describes flyvis's default network without arguments: its shipped connectome at extent 15", () => {
    const r = runs.default!;
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      connectome: join(PROJECT_DIR, 'data', 'fib25-fib19_v2.2.json'),
      extent: 15,
      n_syn_fill: 1,
      n_nodes: 45669,
      n_edges: 1513231,
      n_cell_types: 65,
      num_parameters: 3693,
      num_trainable_parameters: 734,
    });
    if (!hasShared) return console.warn('[info test] digests not compared: ../shared/golden is absent');
    const extents = JSON.parse(readFileSync(join(GOLDEN_DIR, 'connectome_extents.json'), 'utf8')) as { extent: number; nodes_sha256: string; edges_sha256: string }[];
    const e15 = extents.find((e) => e.extent === 15)!;
    expect({ nodes: info.nodes_sha256, edges: info.edges_sha256 }).toEqual({ nodes: e15.nodes_sha256, edges: e15.edges_sha256 });
  });

  it("prints one JSON object for the built-in demo connectome ('--connectome demo')", () => {
    const r = runs.demo!;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    const c = compileConnectome(loadConnectomeSpec(demoConnectomePath), 15, 1);
    expect(info).toMatchObject({
      connectome: demoConnectomePath,
      extent: 15,
      n_syn_fill: 1,
      n_nodes: c.nodes.length,
      n_edges: c.edges.length,
      n_cell_types: c.uniqueCellTypes.length,
      cell_types: { input: 8, intermediate: c.intermediateCellTypes.length, output: c.outputCellTypes.length },
      n_input: 8 * 721,
      nodes_sha256: nodesDigest(c),
      edges_sha256: edgesDigest(c),
    });
    expect(info.description).toMatch(/synthetic/i);
  });

  it('lists the cell types: names per role as flyvis\'s connectome exposes them, and each type\'s role and nodes', () => {
    const info = JSON.parse(runs.demo!.stdout) as Record<string, unknown>;
    const c = compileConnectome(loadConnectomeSpec(demoConnectomePath), 15, 1);
    expect(info.unique_cell_types).toEqual(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8', 'L1', 'L2', 'Lawf2', 'Mi1', 'Tm3', 'T4a']);
    expect(info.cell_type_names).toEqual({
      input: ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8'],
      intermediate: c.intermediateCellTypes,
      output: c.outputCellTypes,
    });
    const list = info.cell_type_list as { name: string; role: string; n_nodes: number }[];
    expect(list.map((t) => t.name)).toEqual(info.unique_cell_types);
    expect(list[0]).toEqual({ name: 'R1', role: 'input', n_nodes: 721 });
    for (const t of list) expect(t.n_nodes).toBe(c.layerIndex.get(t.name)!.length);
    expect(list.reduce((n, t) => n + t.n_nodes, 0)).toBe(c.nodes.length);
    // Consistent with the counts per role that were there before.
    for (const role of ['input', 'intermediate', 'output'] as const) {
      expect(list.filter((t) => t.role === role).map((t) => t.name)).toEqual(
        c.uniqueCellTypes.filter((name) => (info.cell_type_names as Record<string, string[]>)[role]!.includes(name)),
      );
      expect(list.filter((t) => t.role === role).length).toBe((info.cell_types as Record<string, number>)[role]);
    }
    expect(list.filter((t) => t.role === 'input').reduce((n, t) => n + t.n_nodes, 0)).toBe(info.n_input);
    expect(list.filter((t) => t.role === 'output').reduce((n, t) => n + t.n_nodes, 0)).toBe(info.n_output);
  });

  it.skipIf(!hasShared)("lists flyvis's 65 cell types with flyvis's input, intermediate and output types", () => {
    const info = JSON.parse(runs.flyvis!.stdout) as Record<string, unknown>;
    const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, 'extent2', 'golden.json'), 'utf8')) as { cell_types: string[]; n_nodes: number; n_hexals: number };
    const spec = JSON.parse(readFileSync(CONNECTOME_FILE, 'utf8')) as { output_units: string[] };
    expect(info.unique_cell_types).toEqual(golden.cell_types);
    expect(golden.cell_types).toHaveLength(65);
    expect(info.cell_type_names).toEqual({
      input: ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8'],
      // flyvis's connectome.intermediate_cell_types (order_node_type_list order)
      intermediate: [
        'L1', 'L2', 'L3', 'L4', 'L5', 'Lawf1', 'Lawf2', 'Am', 'C2', 'C3', 'CT1(Lo1)', 'CT1(M10)',
        'Mi1', 'Mi2', 'Mi3', 'Mi4', 'Mi9', 'Mi10', 'Mi11', 'Mi12', 'Mi13', 'Mi14', 'Mi15',
      ],
      output: spec.output_units,
    });
    expect(spec.output_units).toHaveLength(34);
    const list = info.cell_type_list as { name: string; role: string; n_nodes: number }[];
    expect(list.reduce((n, t) => n + t.n_nodes, 0)).toBe(golden.n_nodes);
    expect(list.filter((t) => t.role === 'input')).toEqual(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8'].map((name) => ({ name, role: 'input', n_nodes: golden.n_hexals })));
    expect(list.find((t) => t.name === 'T4a')).toEqual({ name: 'T4a', role: 'output', n_nodes: golden.n_hexals });
    expect(list.filter((t) => t.role === 'output').map((t) => t.name).sort()).toEqual([...spec.output_units].sort());
  });

  it.skipIf(!hasShared)('reports the default configuration\'s parameter counts: 3,693 and 734 at extent 15', () => {
    const info = JSON.parse(runs.flyvis15!.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ extent: 15, n_nodes: 45669, n_edges: 1513231, num_parameters: 3693, num_trainable_parameters: 734 });
  });

  it('honours --extent and --n-syn-fill (both flag forms)', () => {
    const info = JSON.parse(runs.demoSmall!.stdout) as Record<string, unknown>;
    const c = compileConnectome(loadConnectomeSpec(demoConnectomePath), 2, 0);
    expect(info).toMatchObject({ extent: 2, n_syn_fill: 0, n_edges: c.edges.length, edges_sha256: edgesDigest(c) });
  });

  it.skipIf(!hasShared)("reproduces flyvis's digests for the fib25 connectome", () => {
    const golden = (JSON.parse(readFileSync(join(GOLDEN_DIR, 'connectome_extents.json'), 'utf8')) as Record<string, unknown>[])[2]!;
    const info = JSON.parse(runs.flyvis!.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      n_nodes: golden.n_nodes,
      n_edges: golden.n_edges,
      nodes_sha256: golden.nodes_sha256,
      edges_sha256: golden.edges_sha256,
      n_cell_types: 65,
      cell_types: { input: 8, intermediate: 23, output: 34 },
      num_parameters: 3648,
      num_trainable_parameters: 734,
    });
  });

  it('prints help on stdout with exit code 0', () => {
    expect(runs.help!.code).toBe(0);
    expect(runs.help!.stdout).toMatch(/^usage: flyvis info \[--connectome FILE\] \[--extent N\] \[--n-syn-fill X\] \[--max-memory GB\] \[--max-steps N\]/);
  });

  it('rejects bad arguments and bad files with one line on stderr and exit code 2', () => {
    const expected: Record<string, RegExp> = {
      unknownFlag: /^flyvis info: unknown option '--extnt' \(expected --connectome, --extent, --n-syn-fill, --max-memory, --max-steps\)$/,
      badExtent: /^flyvis info: --extent: expected an integer >= 0, got '2\.5'$/,
      negativeFill: /^flyvis info: --n-syn-fill: expected a finite number from 0 to 3\.4e\+38, got '-1'$/,
      // Beyond float32: refused naming the flag (exit 2), as in every other command.
      hugeFill: /^flyvis info: --n-syn-fill: expected a finite number from 0 to 3\.4e\+38, got '1e308'$/,
      missingValue: /^flyvis info: --connectome: expected a value \(FILE\)$/,
      missingFile: /^flyvis info: connectome file .*absent\.json: file not found \(nor in .*data\/?; set FLYVIS_CONNECTOME_DIR .*\)$/,
      malformed: /^flyvis info: connectome file .*malformed\.json: edges\[0\]\.tar: unknown cell type 'Q'$/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const r = runs[name as keyof typeof cases]!;
      expect({ name, code: r.code, stdout: r.stdout }).toEqual({ name, code: 2, stdout: '' });
      expect(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2, `${name}: one line`).toBe(true);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    }
  });
});

describe('parseArgs', () => {
  const specs = {
    file: { type: 'string', metavar: 'FILE', help: 'input' },
    steps: { type: 'integer', metavar: 'N', min: 1, default: 10, help: 'steps' },
    rate: { type: 'number', help: 'rate' },
    verbose: { type: 'boolean', help: 'talk' },
  } as const satisfies OptionSpecs;

  it('parses values, defaults, booleans and positionals', () => {
    const a = parseArgs(['--file', 'x.json', '--rate=-0.5', '--verbose', 'pos', '--', '--steps'], specs, { maxPositionals: 2 });
    expect(a.options).toEqual({ file: 'x.json', steps: 10, rate: -0.5, verbose: true });
    expect(a.positionals).toEqual(['pos', '--steps']);
    expect(a.help).toBe(false);
    const b = parseArgs([], specs);
    expect(b.options).toEqual({ file: undefined, steps: 10, rate: undefined, verbose: false });
    expect(parseArgs(['--steps', '+7', '--rate', '1e-3'], specs).options).toMatchObject({ steps: 7, rate: 0.001 });
  });

  it('reports --help without checking the other arguments, but not after --', () => {
    expect(parseArgs(['--bogus', '-h'], specs).help).toBe(true);
    const after = parseArgs(['--', '--help'], specs, { maxPositionals: 1 });
    expect([after.help, after.positionals]).toEqual([false, ['--help']]);
  });

  it('throws UsageError naming the flag and what was expected', () => {
    const cases: [string[], string][] = [
      [['--nope'], "unknown option '--nope' (expected --file, --steps, --rate, --verbose)"],
      [['-x'], "unknown option '-x' (expected --file, --steps, --rate, --verbose)"],
      [['--steps', '0'], "--steps: expected an integer >= 1, got '0'"],
      [['--steps', '1.5'], "--steps: expected an integer >= 1, got '1.5'"],
      [['--rate', 'fast'], "--rate: expected a finite number, got 'fast'"],
      [['--rate', ''], "--rate: expected a finite number, got ''"],
      [['--rate', 'Infinity'], "--rate: expected a finite number, got 'Infinity'"],
      [['--file'], '--file: expected a value (FILE)'],
      [['--file', '--verbose'], '--file: expected a value (FILE)'],
      [['--verbose=yes'], '--verbose takes no value'],
      [['--steps', '2', '--steps=3'], '--steps given more than once'],
      [['extra'], "unexpected argument 'extra'"],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseArgs(argv, specs), argv.join(' ')).toThrow(new UsageError(message));
    }
  });

  it('formats help with the usage line, options and defaults', () => {
    const help = formatHelp('run', 'Runs things.', specs);
    expect(help.split('\n').slice(0, 3)).toEqual(['usage: flyvis run [--file FILE] [--steps N] [--rate VALUE] [--verbose]', '', 'Runs things.']);
    expect(help).toContain('  --steps N     steps (default: 10)\n');
    expect(help).toContain('  --help        show this help\n');
  });
});
