// MPI Sintel on disk in flyvis's MultiTaskSintel semantics, on tiny Sintel-shaped folders the
// tests write (PNG frames, .flo flows): frames 2..N against flows 1..N-1, the 70% centre crop
// and 3 overlapping vertical splits, BoxEye mean (luminance) and sum (flow / height, y up),
// flyvis's scene-name train/validation split, 19-frame random crops resampled to dt, and
// errors naming the file for bad input.
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFlo, FlowDatasetError, parseFlo, ProceduralFlow, sintelTrainValidationIndices, splitColumns } from '../../src/datasets/index.ts';
import { flowDatasetFromSpec, SintelFlow } from '../../src/datasets/flow/node.ts';
import { Xoshiro128 } from '../../src/init/random.ts';
import { decodePng } from '../../src/stimuli/png.ts';
import { encodeRgbPng, writeTinySintel, type TinyScene } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'flyvis-sintel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// extent 1, kernel 3: hexals (u, v) in flyvis's order, centres row trunc(3 (u + v/2)), column 3 v
const U = [-1, -1, 0, 0, 0, 1, 1];
const V = [0, 1, -1, 0, 1, -1, 0];
const ROW = [-3, -1, -1, 0, 1, 1, 3];
const W = 24;
const H = 12;
const small = { extent: 1, kernelSize: 3 };
// grey 10 x + k (frame k), flow u = x + k / 4, v = y / 2 - k (flow file k)
const scene = (name: string, frames: number): TinyScene => ({ name, frames, grey: (x, _y, k) => 10 * x + k, flow: (x, y, k) => [x + k / 4, y / 2 - k] });
const root = join(tmp, 'sintel');

beforeAll(() => {
  writeTinySintel(root, W, H, [scene('alley_1', 23), scene('ambush_2', 21), scene('cave_4', 8)]);
});

/** A copy of the tiny folder to break. */
function copy(name: string): string {
  const dst = join(tmp, name);
  cpSync(root, dst, { recursive: true });
  return dst;
}

describe('.flo files and splits', () => {
  it('parses .flo files (magic 202021.25, width, height, u v per pixel) and refuses bad ones naming the file', () => {
    const bytes = encodeFlo(3, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5]);
    expect(bytes.length).toBe(12 + 48);
    const f = parseFlo(bytes, 'x.flo');
    expect([f.width, f.height]).toEqual([3, 2]);
    expect(Array.from(f.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5]);
    const bad = bytes.slice();
    new DataView(bad.buffer).setFloat32(0, 1.5, true);
    expect(() => parseFlo(bad, 'a/b.flo')).toThrow('a/b.flo: not a .flo file (magic 1.5, expected 202021.25)');
    expect(() => parseFlo(bytes.subarray(0, 40), 'c.flo')).toThrow('c.flo: .flo file of 40 bytes, expected 60 for 3 x 2 flow');
    expect(() => parseFlo(bytes.subarray(0, 5), 'd.flo')).toThrow(/d.flo: not a .flo file \(5 bytes/);
  });

  it("cuts flyvis's vertical splits: 70% centre crop, 3 splits of min width + 2 kernels", () => {
    // Sintel 1024 wide, extent 15 (width 391 + 26 = 417): crop [154, 870), splits overlapping by 268
    expect(splitColumns(1024, 417, 3, 0.7)).toEqual([[154, 571], [303, 720], [452, 869]]);
    expect(splitColumns(600, 417, 3, 0.7)).toEqual([[90, 507], [91, 508], [92, 509]]);
    expect(splitColumns(24, 13, 3, 0.7)).toEqual([[4, 17], [5, 18], [6, 19]]);
    expect(splitColumns(24, 13, 1, 0.7)).toEqual([[4, 20]]);
    expect(() => splitColumns(300, 417, 3, 0.7)).toThrow(/at least 417 columns/);
  });

  it("splits by flyvis's scene names, dropping dataset indices 37 and 38 from validation", () => {
    const names = Array.from({ length: 69 }, (_, i) => `sequence_${String(Math.floor(i / 3)).padStart(2, '0')}_${['alley_1', 'alley_2', 'ambush_2', 'ambush_4', 'ambush_5', 'ambush_6', 'ambush_7', 'bamboo_1', 'bamboo_2', 'bandage_1', 'bandage_2', 'cave_2', 'cave_4', 'market_2', 'market_5', 'market_6', 'mountain_1', 'shaman_2', 'shaman_3', 'sleeping_1', 'sleeping_2', 'temple_2', 'temple_3'][Math.floor(i / 3)]}_split_0${i % 3}`);
    const { train, validation } = sintelTrainValidationIndices(names);
    expect(train.length).toBe(51);
    expect(validation.length).toBe(16);
    expect(validation).toContain(36); // cave_4 split 0 stays
    expect(validation).not.toContain(37);
    expect(validation).not.toContain(38);
  });

  it("reads PNG frames as PIL's convert('L') / 255 (integer Rec. 601)", () => {
    const png = encodeRgbPng(Uint8Array.of(1, 2, 3, 200, 100, 50), 2, 1);
    const img = decodePng(png, 'f.png', 'pil');
    // (19595 + 2 * 38470 + 3 * 7471 + 32768) >> 16 = 2; (200 * 19595 + 100 * 38470 + 50 * 7471 + 32768) >> 16 = 124
    expect(Array.from(img.data)).toEqual([Math.fround(2 / 255), Math.fround(124 / 255)]);
  });
});

describe('SintelFlow (MultiTaskSintel) on a tiny Sintel folder', () => {
  it('renders scenes with at least 20 frames into 3 vertical splits each, in flyvis order', () => {
    const ds = new SintelFlow(root, small);
    expect(ds.names).toEqual([0, 1, 2].map((j) => `sequence_00_alley_1_split_0${j}`).concat([0, 1, 2].map((j) => `sequence_01_ambush_2_split_0${j}`)));
    expect(ds.length).toBe(6);
    expect(ds.sequenceFrames(0)).toBe(22);
    expect(ds.sequenceFrames(3)).toBe(20);
    expect(new SintelFlow(root, { ...small, split: 'train' }).indices).toEqual([0, 1, 2]);
    expect(new SintelFlow(root, { ...small, split: 'validation' }).indices).toEqual([3, 4, 5]);
  });

  it('luminance of frames 2..N and flow of files 1..N-1, BoxEye mean and sum (/ height, y up), per split', () => {
    const ds = new SintelFlow(root, small);
    const c0 = [4, 5, 6];
    for (const k of [0, 1, 2, 3]) {
      const j = k % 3;
      const r = ds.rendering(k);
      const T = k < 3 ? 22 : 20;
      expect(r.lum.shape).toEqual([T, 1, 7]);
      expect(r.flow.shape).toEqual([T, 2, 7]);
      for (let t = 0; t < T; t++)
        for (let h = 0; h < 7; h++) {
          const col = c0[j]! + 6 + 3 * V[h]!; // frame column of the hexal's centre
          const row = 6 + ROW[h]!;
          expect(r.lum.data[t * 7 + h]).toBeCloseTo((10 * col + (t + 2)) / 255, 6);
          expect(r.flow.data[t * 14 + h]).toBeCloseTo((9 * (col + (t + 1) / 4)) / H, 5);
          expect(r.flow.data[t * 14 + 7 + h]).toBeCloseTo((-9 * (row / 2 - (t + 1))) / H, 5);
        }
    }
    expect(U.length).toBe(7);
  });

  it('items: 19-frame crops resampled to 40 frames at dt 0.02; random crop starts in [0, frames - 19)', () => {
    const plain = new SintelFlow(root, { ...small, augment: false });
    const it0 = plain.item(0);
    expect(it0.lumShape).toEqual([40, 1, 7]);
    expect(it0.flowShape).toEqual([40, 2, 7]);
    const r = plain.rendering(0);
    expect(Array.from(it0.lum.subarray(0, 7))).toEqual(Array.from(r.lum.data.subarray(0, 7)));
    expect(Array.from(it0.lum.subarray(39 * 7))).toEqual(Array.from(r.lum.data.subarray(18 * 7, 19 * 7)));
    expect(Array.from(it0.flow.subarray(39 * 14))).toEqual(Array.from(r.flow.data.subarray(18 * 14, 19 * 14)));
    // augmenting with only the temporal crop random
    const crop = new SintelFlow(root, { ...small, pRot: 0, pFlip: 0, contrastStd: 0, brightnessStd: 0, gaussianWhiteNoise: 0 });
    const starts = new Set<number>();
    const rng = new Xoshiro128(9);
    for (let n = 0; n < 40; n++) {
      const it = crop.item(0, rng);
      const start = Math.round(it.lum[3]! * 255 - 10 * (4 + 6)) - 2;
      expect(Array.from(it.lum)).toEqual(Array.from(plain.item(0).lum.map((_, i) => r.lum.data[start * 7 + (i % 7) + 7 * Math.min(Math.floor((Math.floor(i / 7) + 0.5) * Math.fround(19 / 40)), 18)]!)));
      starts.add(start);
    }
    expect([...starts].sort()).toEqual([0, 1, 2]);
    // ambush_2 has exactly 20 rendered frames: the crop starts at 0 (numpy randint(0, 1))
    for (let n = 0; n < 5; n++) expect(crop.item(3, rng).lum[3]).toBeCloseTo((10 * 10 + 2) / 255, 6);
    // item(i) without a generator is fixed by the seed
    const full = new SintelFlow(root, small);
    expect(Array.from(full.item(1).lum)).toEqual(Array.from(full.item(1).lum));
    expect(Array.from(full.item(1).lum)).not.toEqual(Array.from(new SintelFlow(root, { ...small, seed: 1 }).item(1).lum));
  });

  it("at flyvis's geometry (extent 15, kernel 13): 721 hexals, splits of 417 columns of a 600 x 400 frame", () => {
    const big = join(tmp, 'big');
    writeTinySintel(big, 600, 400, [{ name: 'alley_2', frames: 20, grey: (_x, _y, k) => 100 + k, flow: (x, y) => [x / 8, y / 16] }]);
    const ds = new SintelFlow(big, { augment: false });
    expect(ds.length).toBe(3);
    const r = ds.rendering(1);
    expect(r.lum.shape).toEqual([19, 1, 721]);
    const c = 360; // hexal (0, 0): frame row 200, column 91 + 208
    for (let t = 0; t < 19; t++) expect(r.lum.data[t * 721 + c]).toBeCloseTo((100 + t + 2) / 255, 6);
    expect(r.flow.data[c]).toBeCloseTo((169 * (91 + 208)) / 8 / 400, 4);
    expect(r.flow.data[721 + c]).toBeCloseTo((-169 * 200) / 16 / 400, 4);
    const it = ds.item(1);
    expect(it.lumShape).toEqual([40, 1, 721]);
    expect(it.flowShape).toEqual([40, 2, 721]);
  });
});

describe('bad input names the file and what was expected', () => {
  it('a folder that is not Sintel', () => {
    expect(() => new SintelFlow(join(tmp, 'nothing'))).toThrow(/nothing: not found, expected an MPI Sintel folder/);
    expect(() => new SintelFlow(root, { ...small, pass: 'clean' })).toThrow(/training\/clean: not found, expected scene folders/);
    expect(() => new SintelFlow(root, { ...small, nFrames: 30 })).toThrow(/training\/final: expected scene folders with at least 31 frames each, found none among 3/);
  });

  it('missing frames or flow files, mismatched flow names, stray files in a scene folder, no frames at all', () => {
    const a = copy('missing-flo');
    unlinkSync(join(a, 'training/flow/alley_1/frame_0005.flo'));
    expect(() => new SintelFlow(a, small)).toThrow(/training\/flow\/alley_1: expected 22 .flo files \(one per pair of the 23 frames in .*training\/final\/alley_1\), found 21/);
    const b = copy('stray');
    writeFileSync(join(b, 'training/final/ambush_2/notes.txt'), 'x');
    expect(() => new SintelFlow(b, small)).toThrow(/ambush_2\/notes.txt: unexpected entry, expected only PNG frames/);
    const d = copy('missing-frame');
    unlinkSync(join(d, 'training/final/alley_1/frame_0007.png'));
    expect(() => new SintelFlow(d, small)).toThrow(/training\/flow\/alley_1: expected 21 .flo files \(one per pair of the 22 frames/);
    unlinkSync(join(d, 'training/flow/alley_1/frame_0022.flo'));
    expect(() => new SintelFlow(d, small)).toThrow(/training\/flow\/alley_1\/frame_0007.flo: expected frame_0008.flo here \(the flow from frame_0008.png to frame_0009.png\)/);
    const e = join(tmp, 'empty');
    mkdirSync(join(e, 'training/final'), { recursive: true });
    expect(() => new SintelFlow(e, small)).toThrow(/training\/final: expected scene folders with at least 20 frames each, found none among 0/);
    const c = copy('no-flow-dir');
    rmSync(join(c, 'training/flow/ambush_2'), { recursive: true });
    expect(() => new SintelFlow(c, small)).toThrow(/training\/flow\/ambush_2: not found/);
  });

  it('a .flo file with a bad magic number or size, a frame of another size, a corrupt PNG (when rendered)', () => {
    const a = copy('bad-magic');
    const f = join(a, 'training/flow/alley_1/frame_0003.flo');
    const bytes = encodeFlo(W, H, new Float32Array(W * H * 2));
    new DataView(bytes.buffer).setFloat32(0, 123, true);
    writeFileSync(f, bytes);
    expect(() => new SintelFlow(a, small).rendering(0)).toThrow(`${f}: not a .flo file (magic 123, expected 202021.25)`);
    writeFileSync(f, encodeFlo(W, H, new Float32Array(W * H * 2)).subarray(0, 100));
    expect(() => new SintelFlow(a, small).rendering(0)).toThrow(`${f}: .flo file of 100 bytes, expected ${12 + W * H * 8}`);
    writeFileSync(f, encodeFlo(W, H - 1, new Float32Array(W * (H - 1) * 2)));
    expect(() => new SintelFlow(a, small).rendering(0)).toThrow(`${f}: 24 x 11, expected 24 x 12 as`);
    const b = copy('bad-png');
    const p = join(b, 'training/final/ambush_2/frame_0004.png');
    writeFileSync(p, encodeRgbPng(new Uint8Array(10 * 10 * 3), 10, 10));
    expect(() => new SintelFlow(b, small).rendering(3)).toThrow(`${p}: 10 x 10, expected 24 x 12 as`);
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    expect(() => new SintelFlow(b, small).rendering(3)).toThrow(FlowDatasetError);
    expect(() => new SintelFlow(b, small).rendering(3)).toThrow(`${p}: not a PNG file`);
    // frames too narrow for the BoxEye's splits
    expect(() => new SintelFlow(root).rendering(0)).toThrow(/frame_0002.png: frame width: expected at least 417 columns/);
  });
});

describe('flowDatasetFromSpec', () => {
  it("'procedural' and 'sintel:PATH'; anything else is refused", () => {
    const p = flowDatasetFromSpec('procedural', { split: 'validation', nSequences: 2, extent: 2 });
    expect(p).toBeInstanceOf(ProceduralFlow);
    expect([p.length, p.hexals, p.dt]).toEqual([2, 19, 0.02]);
    const s = flowDatasetFromSpec(`sintel:${root}`, { ...small, split: 'validation' });
    expect(s).toBeInstanceOf(SintelFlow);
    expect(s.length).toBe(3);
    // flyvis's training settings for --dataset (task.yaml), MultiTaskSintel's class defaults otherwise
    expect([(s as SintelFlow).augmentOptions.pRot, (s as SintelFlow).augmentOptions.flipAxes]).toEqual([0.5, [0, 1, 2, 3]]);
    expect([new SintelFlow(root, small).augmentOptions.pRot, new SintelFlow(root, small).augmentOptions.flipAxes]).toEqual([5 / 6, [0, 1]]);
    expect((flowDatasetFromSpec(`sintel:${root}`, { ...small, pRot: 0.25 }) as SintelFlow).augmentOptions.pRot).toBe(0.25);
    expect(() => flowDatasetFromSpec('sintel:')).toThrow(/dataset: expected 'procedural' or 'sintel:PATH'/);
    expect(() => flowDatasetFromSpec('kitti')).toThrow(FlowDatasetError);
  });
});
