// `flyvis predict-flow` (a contract): network and flow decoder from one checkpoint or network
// directory, simulation from flyvis's validation grey state, the decoder in evaluation mode after
// every frame, float32 (samples, frames, 2, hexals) and a sidecar; the same numbers as the library
// (in chunks or not); bad input: one line, exit 2, nothing written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Tensor } from '../../src/autograd/index.ts';
import { ConnectomeFromAvgFilters, demoConnectome } from '../../src/graph/index.ts';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { saveTorchFile } from '../../src/io/torch/node.ts';
import { TorchDict, TorchTensor } from '../../src/io/torch/values.ts';
import { Network } from '../../src/network/network.ts';
import { loadNetworkDir } from '../../src/results/index.ts';
import { FLOW_DECODER_CONFIG, decode, decoderGAVP, decoderParamsFromStateDict, decoderStateDict, flowDecoderConfigOf, initDecoder, type DecoderParams } from '../../src/task/index.ts';
import { rng as seeded } from '../autograd/fd.ts';
import { PROJECT_DIR, sharedPath } from '../helpers/shared.ts';

const flyvis = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', 'predict-flow', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-flow-'));

const networkDict = (net: Network): TorchDict =>
  new TorchDict(Object.entries(net.stateDict()).map(([k, v]): [string, TorchTensor] => [k, new TorchTensor('float32', [v.length], Float32Array.from(v))]), true);

/** A flyvis-style checkpoint { network, decoder: { flow } } (either part optional). */
function checkpoint(file: string, net: Network | null, decoder: TorchDict | null): string {
  const entries: [string, TorchDict][] = [];
  if (net) entries.push(['network', networkDict(net)]);
  if (decoder) entries.push(['decoder', new TorchDict([['flow', decoder]])]);
  saveTorchFile(file, new TorchDict(entries));
  return file;
}

/** The flow the library predicts: grey steady state for tPre, simulate, decode (evaluation). */
function libraryFlow(net: Network, decoder: ReturnType<typeof decoderGAVP>, params: DecoderParams, movie: Float32Array, shape: number[], dt: number, tPre: number): Float32Array {
  const state = net.steadyState(tPre, dt, shape[0]!);
  const activity = net.simulate({ data: movie, shape }, dt, { initialState: state }) as Tensor;
  return decode(decoder, params, activity).output.data as Float32Array;
}

describe('flyvis predict-flow', () => {
  const connectome = ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 1);
  const net = Network.fromConnectome(connectome);
  const { decoder, params } = initDecoder({ ...FLOW_DECODER_CONFIG, const_weight: null }, connectome, { rng: seeded(8) });
  const dir = tmp();
  const ckpt = checkpoint(join(dir, 'chkpt.pt'), net, decoderStateDict(decoder, params));
  const [S, T, H, dt] = [2, 5, net.stimulus.nInputElements, 0.02];
  const movieData = Float32Array.from({ length: S * T * H }, (_, i) => 0.5 + 0.45 * Math.sin(i * 1.3));
  const movie = join(dir, 'movie.npy');
  writeFileSync(movie, encodeNpy(movieData, [S, T, 1, H]));

  it("writes the library's flow, (samples, frames, 2, hexals) float32, the same in chunks, with a sidecar", () => {
    const out = join(dir, 'flow.npy');
    const r = flyvis('--extent', '1', '--params', ckpt, '--movie', movie, '--dt', '1/50', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*flow\.npy \(float32, shape \(2, 5, 2, 7\), dt 0\.02 s, t_pre 0\.25 s\)/);
    const got = readNpy(out);
    expect(got.descr).toBe('<f4');
    expect(got.shape).toEqual([S, T, 2, 7]);
    // flyvis's validation starts from steady_state(t_pre=0.25): the default
    const want = libraryFlow(net, decoder, params, movieData, [S, T, 1, H], dt, 0.25);
    expect([...got.data]).toEqual([...want]);
    expect(want.some((v) => Math.abs(v) > 1e-4)).toBe(true);
    const side = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
    expect(side.producer).toBe('flyvis predict-flow');
    expect(side.shape).toEqual([S, T, 2, 7]);
    expect(side.axes).toEqual(['samples', 'frames', 'components', 'hexals']);
    expect(side.t_pre).toBe(0.25);
    expect(side.checkpoint).toBe(ckpt);
    expect(side.frame_times).toEqual({ first_s: dt, step_s: dt, count: T });
    // in chunks of 2 frames (the state carried over), from another grey phase
    const out2 = join(dir, 'flow2.npy');
    const r2 = flyvis('--extent', '1', '--params', ckpt, '--movie', movie, '--dt', '0.02', '--t-pre', '0.1', '--chunk-frames', '2', '--quiet', '--out', out2);
    expect(r2.code).toBe(0);
    expect([...readNpy(out2).data]).toEqual([...libraryFlow(net, decoder, params, movieData, [S, T, 1, H], dt, 0.1)]);
  });

  const expectBadInput = (args: string[], pattern: RegExp, where: string) => {
    const r = flyvis(...args);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(readdirSync(where).filter((f) => f.startsWith('out') || f.includes('.tmp'))).toEqual([]);
  };

  it('refuses sources without a flow decoder or with a decoder of another shape, and bad movies: one line, exit 2, nothing written', () => {
    const bad = tmp();
    const out = join(bad, 'out.npy');
    const common = ['--movie', movie, '--dt', '0.02', '--out', out];
    expectBadInput(['--extent', '1', ...common], /^flyvis predict-flow: --params is required/, bad);
    // network parameters only: a torch checkpoint without decoder, and a state_dict JSON
    const netOnly = checkpoint(join(bad, 'net-only.pt'), net, null);
    expectBadInput(['--extent', '1', '--params', netOnly, ...common], /net-only\.pt: holds no flow decoder \(no decoder entry/, bad);
    const json = join(bad, 'params.json');
    net.saveCheckpoint(json);
    expectBadInput(['--extent', '1', '--params', json, ...common], /params\.json: is not a torch checkpoint, so it holds no flow decoder/, bad);
    // flyvis's 34-channel decoder on the demo connectome (2 output types)
    const demo = Network.fromConnectome(demoConnectome(1));
    const other = checkpoint(join(bad, 'demo.pt'), demo, decoderStateDict(decoder, params));
    const demoMovie = join(bad, 'demo-movie.npy');
    writeFileSync(demoMovie, encodeNpy(new Float32Array(2 * demo.stimulus.nInputElements).fill(0.5), [1, 2, 1, demo.stimulus.nInputElements]));
    expectBadInput(
      ['--connectome', 'demo', '--extent', '1', '--params', other, '--movie', demoMovie, '--dt', '0.02', '--out', out],
      /demo\.pt: decoder\.flow: size mismatch for base\.0\.weight: the state_dict has shape \[8, 34, 5, 5\], the decoder \[8, 2, 5, 5\].*2 output cell types/,
      bad,
    );
    // a flow decoder with 3 output channels is no flow decoder
    const wide = initDecoder({ ...FLOW_DECODER_CONFIG, shape: [8, 3] }, connectome);
    const wideCkpt = checkpoint(join(bad, 'wide.pt'), net, decoderStateDict(wide.decoder, wide.params));
    expectBadInput(['--extent', '1', '--params', wideCkpt, ...common], /wide\.pt: decoder\.flow: size mismatch for decoder\.0\.weight/, bad);
    // a movie of another lattice
    const wrong = join(bad, 'wrong.npy');
    writeFileSync(wrong, encodeNpy(new Float32Array(2 * 19), [1, 2, 1, 19]));
    expectBadInput(['--extent', '1', '--params', ckpt, '--movie', wrong, '--dt', '0.02', '--out', out], /wrong\.npy: movie has shape \(1, 2, 1, 19\), expected \(samples, frames, 1, 7\)/, bad);
  });
});

const PUBLISHED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
const hasPublished = existsSync(join(PUBLISHED, 'best_chkpt'));
if (!hasPublished) console.warn(`[cli/predict-flow] skipping the published network: ${PUBLISHED} is absent`);

describe.skipIf(!hasPublished)('flyvis predict-flow on a published network directory', () => {
  it("opticflow/000/0000 at extent 15 (flyvis's defaults): the library's flow from the directory's network and decoder", async () => {
    const dir = tmp();
    const loaded = await loadNetworkDir(PUBLISHED);
    try {
      const H = loaded.network.stimulus.nInputElements;
      const shape = [1, 3, 1, H];
      const data = Float32Array.from({ length: 3 * H }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.21));
      const movie = join(dir, 'movie.npy');
      writeFileSync(movie, encodeNpy(data, shape));
      const out = join(dir, 'flow.npy');
      const r = flyvis('--params', PUBLISHED, '--movie', movie, '--dt', '1/50', '--out', out);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const decoder = decoderGAVP(flowDecoderConfigOf(loaded.config) as Record<string, unknown>, loaded.network.connectome);
      const params = decoderParamsFromStateDict(decoder, loaded.decoder!.flow!);
      const got = readNpy(out);
      expect(got.shape).toEqual([1, 3, 2, 721]);
      expect([...got.data]).toEqual([...libraryFlow(loaded.network, decoder, params, data, shape, 1 / 50, 0.25)]);
      const side = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { decoder: { config_from: string } };
      expect(side.decoder.config_from).toMatch(/_meta\.yaml$/);
    } finally {
      loaded.network.dispose();
    }
  });
});
