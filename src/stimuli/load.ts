// Users' movies from files: .npy arrays (on the lattice, or cartesian images through a BoxEye)
// and PNG frame sequences (a directory of .png files in name order, or a list of files).
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readNpy } from '../io/npy.ts';
import { BoxEye } from './box-eye.ts';
import { UserMovies, type UserMoviesOptions } from './datasets.ts';
import { StimulusParamError } from './errors.ts';
import { readPng } from './png.ts';

/** PNG files of a directory in natural name order (frame2 before frame10). */
export function pngFrameFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new StimulusParamError(`${dir}: cannot list directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const files = names.filter((n) => extname(n).toLowerCase() === '.png').sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new StimulusParamError(`${dir}: expected PNG frames (*.png), found none`);
  return files.map((n) => join(dir, n));
}

/** A PNG frame sequence as one cartesian movie (1, frames, height, width). */
export function readPngSequence(files: readonly string[]): { data: Float32Array; shape: [number, number, number, number] } {
  const frames = files.map(readPng);
  const { width, height } = frames[0]!;
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height) throw new StimulusParamError(`${files[i]}: frame is ${f.width}x${f.height}, expected ${width}x${height} like ${files[0]}`);
  });
  const data = new Float32Array(frames.length * width * height);
  frames.forEach((f, i) => data.set(f.data, i * width * height));
  return { data, shape: [1, frames.length, height, width] };
}

/**
 * Loads movies for the lattice of `extent`: a .npy of shape (samples, frames, hexals) or
 * (samples, frames, 1, hexals) is taken as is; (samples, frames, height, width) or
 * (frames, height, width) is rendered through a BoxEye; a directory of PNGs (or a single
 * .png) is one movie rendered through a BoxEye.
 */
export function loadMovies(path: string, extent: number, o: UserMoviesOptions & { kernelSize?: number } = {}): UserMovies {
  const nHex = 3 * extent * (extent + 1) + 1;
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new StimulusParamError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (isDir || extname(path).toLowerCase() === '.png') {
    const images = readPngSequence(isDir ? pngFrameFiles(path) : [path]);
    return new UserMovies(new BoxEye(extent, o.kernelSize ?? 13).render(images), o);
  }
  const a = readNpy(path);
  const s = a.shape;
  if ((s.length === 3 && s[2] === nHex) || (s.length === 4 && s[2] === 1 && s[3] === nHex)) return new UserMovies(a, o);
  if (s.length === 3 || s.length === 4) return new UserMovies(new BoxEye(extent, o.kernelSize ?? 13).render(a), o);
  throw new StimulusParamError(
    `${path}: movie has shape (${s.join(', ')}), expected (samples, frames, ${nHex}) or (samples, frames, 1, ${nHex}) hexals for extent ${extent}, or cartesian (samples, frames, height, width)`,
  );
}
