// flyvis config files (YAML as flyvis writes them, or JSON) build the network they describe.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodesDigest, edgesDigest } from '../../src/graph/index.ts';
import { readNetworkConfig } from '../../src/network/config-file.ts';
import { Network } from '../../src/network/network.ts';
import { CONNECTOME_FILE, PROJECT_DIR, hasShared, sharedPath } from '../helpers/shared.ts';

const FLYVIS_YAML = join(PROJECT_DIR, 'tests', 'fixtures', 'flyvis-network-config.yaml');
const dir = mkdtempSync(join(tmpdir(), 'flyvis-config-'));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('network config files', () => {
  const prev = process.env.FLYVIS_CONNECTOME_DIR;
  afterEach(() => {
    if (prev === undefined) delete process.env.FLYVIS_CONNECTOME_DIR;
    else process.env.FLYVIS_CONNECTOME_DIR = prev;
  });

  it.skipIf(!hasShared)("builds flyvis's own default network from its YAML config, as flyvis does", () => {
    process.env.FLYVIS_CONNECTOME_DIR = dirname(CONNECTOME_FILE); // where 'fib25-fib19_v2.2.json' lives
    const config = readNetworkConfig(FLYVIS_YAML);
    const net = Network.fromConfigFile(FLYVIS_YAML, { connectome: { ...config.connectome, extent: 2 } });
    const golden = JSON.parse(readFileSync(sharedPath('golden', 'connectome_extents.json'), 'utf8'))[2] as Record<string, unknown>;
    expect(nodesDigest(net.connectome)).toBe(golden.nodes_sha256);
    expect(edgesDigest(net.connectome)).toBe(golden.edges_sha256);
    const g = JSON.parse(readFileSync(sharedPath('golden', 'extent2', 'golden.json'), 'utf8')) as {
      num_parameters: number;
      params: Record<string, { keys: unknown[]; values: number[] }>;
    };
    expect(net.numParameters).toBe(g.num_parameters);
    for (const p of net.parameters.parameters) expect(p.keys, p.name).toEqual(g.params[p.name]!.keys);
    expect(net.config.node_config).toMatchObject({ bias: { penalize: { activity: true } } }); // extra keys kept
  });

  it('accepts the network block alone, in JSON, with the demo connectome', () => {
    const file = write('net.json', JSON.stringify({ connectome: { type: 'ConnectomeFromAvgFilters', file: 'demo-connectome.json', extent: 1, n_syn_fill: 1 } }));
    const net = Network.fromConfigFile(file);
    expect(net.connectome.uniqueCellTypes).toContain('T4a');
    expect(net.dynamics.type).toBe('PPNeuronIGRSynapses');
  });

  it('names the file and field of every problem', () => {
    expect(() => readNetworkConfig(join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: cannot read \(ENOENT\)/);
    expect(() => readNetworkConfig(write('bad.yaml', 'network: [1, 2'))).toThrow(/bad\.yaml: not valid YAML/);
    expect(() => readNetworkConfig(write('bad.json', '{'))).toThrow(/bad\.json: not valid JSON/);
    expect(() => readNetworkConfig(write('keys.yaml', 'network:\n  conectome: {}\n  dynamics: relu\n'))).toThrow(
      /keys\.yaml: network\.conectome: unknown key \(expected connectome, dynamics, node_config, edge_config, stimulus_config\); .*network\.dynamics: expected a mapping, got "relu"/,
    );
    expect(() => readNetworkConfig(write('list.yaml', '- 1\n- 2\n'))).toThrow(/list\.yaml: expected a mapping/);
  });
});
