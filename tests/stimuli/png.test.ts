// The PNG frame reader: images written here with every row filter, decoded back exactly;
// PNG sequences rendered through the BoxEye as users' movies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../src/stimuli/png.ts';
import { loadMovies, pngFrameFiles } from '../../src/stimuli/load.ts';
import { encodePng } from '../helpers/png.ts';

const dir = mkdtempSync(join(tmpdir(), 'flyvis-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decodePng', () => {
  it('decodes greyscale with every filter type exactly', () => {
    const w = 13;
    const h = 11;
    const px = Uint8Array.from({ length: w * h }, (_, i) => (i * 37 + (i >> 3) * 11) & 0xff);
    const img = decodePng(encodePng(px, w, h, 1));
    expect([img.width, img.height]).toEqual([w, h]);
    img.data.forEach((x, i) => expect(x).toBeCloseTo(px[i]! / 255, 6));
  });

  it('turns RGB into luminance', () => {
    const px = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255);
    const img = decodePng(encodePng(px, 2, 2, 3));
    expect(Array.from(img.data).map((x) => +x.toFixed(3))).toEqual([0.299, 0.587, 0.114, 1]);
  });

  it('rejects what is not a PNG, naming the file', () => {
    expect(() => decodePng(new Uint8Array(20), 'frame.png')).toThrow(/frame.png: not a PNG/);
  });
});

describe('PNG sequences as movies', () => {
  it('loads a directory of frames in natural order through the BoxEye', () => {
    const W = 60;
    for (const [name, value] of [['f2.png', 100], ['f10.png', 200], ['f1.png', 50]] as const) {
      writeFileSync(join(dir, name), encodePng(new Uint8Array(W * W).fill(value), W, W, 1));
    }
    expect(pngFrameFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(['f1.png', 'f2.png', 'f10.png']);
    const movies = loadMovies(dir, 2, { kernelSize: 5 });
    movies.dt = 0.01;
    const m = movies.get(0);
    expect(m.shape).toEqual([3, 19]);
    // uniform frames -> uniform receptors, in file order
    for (let k = 0; k < 3; k++) for (let h = 0; h < 19; h++) expect(m.data[k * 19 + h]).toBeCloseTo([50, 100, 200][k]! / 255, 5);
  });

  it('reports a directory without PNGs', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(() => loadMovies(empty, 2)).toThrow(/expected PNG frames/);
  });
});
