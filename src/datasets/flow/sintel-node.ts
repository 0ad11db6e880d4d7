// Node edge of the Sintel dataset: reads MPI Sintel as it unpacks,
//   <root>/training/<pass>/<scene>/frame_0001.png ...   (pass 'final', as flyvis, or 'clean')
//   <root>/training/flow/<scene>/frame_0001.flo ...     (one fewer than the frames)
// and hands the files to SintelDataset (sintel.ts), which renders them as flyvis's
// MultiTaskSintel does. Frames are decoded as PIL's convert("L") / 255 (flyvis sample_lum).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BoundedReadError, readFileBounded } from '../../io/read-bounded.ts';
import { decodePng, MAX_PNG_BYTES } from '../../stimuli/png.ts';
import { StimulusParamError } from '../../stimuli/errors.ts';
import { FlowDatasetError, flowFail } from './errors.ts';
import { parseFlo, SintelDataset, type FloFile, type LumFrame, type SintelOptions, type SintelSource } from './sintel.ts';

/** A .flo file may be at most this many bytes (Sintel's are 3.6 MB). */
export const MAX_FLO_BYTES = 512e6;

export interface SintelFlowOptions extends SintelOptions {
  /** Rendering pass (default 'final', as flyvis). */
  pass?: 'final' | 'clean';
}

function listDir(dir: string, expected: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FlowDatasetError(`${dir}: ${code === 'ENOENT' ? 'not found' : `cannot read (${code ?? (e as Error).message})`}, expected ${expected}`);
  }
  if (!st.isDirectory()) throw new FlowDatasetError(`${dir}: not a directory, expected ${expected}`);
  try {
    return readdirSync(dir);
  } catch (e) {
    throw new FlowDatasetError(`${dir}: cannot list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), expected ${expected}`);
  }
}

function readBytes(file: string, max: number, what: string): Uint8Array {
  try {
    return readFileBounded(file, max, what);
  } catch (e) {
    if (e instanceof BoundedReadError) throw new FlowDatasetError(e.message);
    throw new FlowDatasetError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Files of a scene folder with the given extension, sorted; anything else is an error naming it. */
function sceneFiles(dir: string, ext: string, expected: string): string[] {
  const names = listDir(dir, expected).sort();
  for (const n of names) {
    if (!n.toLowerCase().endsWith(ext) || !statSync(join(dir, n)).isFile())
      throw new FlowDatasetError(`${join(dir, n)}: unexpected entry, expected only ${expected}`);
  }
  return names;
}

/** A SintelSource over a folder on disk. */
export function sintelDiskSource(root: string, pass: 'final' | 'clean' = 'final'): SintelSource {
  if (pass !== 'final' && pass !== 'clean') flowFail('pass', "'final' or 'clean'", pass);
  const frameDir = join(root, 'training', pass);
  const flowDir = join(root, 'training', 'flow');
  const layout = `an MPI Sintel folder (training/${pass}/<scene>/frame_NNNN.png, training/flow/<scene>/frame_NNNN.flo)`;
  listDir(root, layout);
  return {
    scenes: () => listDir(frameDir, `scene folders of ${layout}`).filter((n) => statSync(join(frameDir, n)).isDirectory()),
    frameFiles: (scene) => sceneFiles(join(frameDir, scene), '.png', 'PNG frames (frame_NNNN.png)'),
    flowFiles: (scene) => sceneFiles(join(flowDir, scene), '.flo', '.flo flow files (frame_NNNN.flo)'),
    readFrame: (scene, file): LumFrame => {
      const path = join(frameDir, scene, file);
      try {
        return decodePng(readBytes(path, MAX_PNG_BYTES, 'a PNG frame'), path, 'pil');
      } catch (e) {
        if (e instanceof StimulusParamError) throw new FlowDatasetError(e.message);
        throw e;
      }
    },
    readFlow: (scene, file): FloFile => {
      const path = join(flowDir, scene, file);
      return parseFlo(readBytes(path, MAX_FLO_BYTES, 'a .flo file'), path);
    },
    framePath: (scene, file) => (file === undefined ? join(frameDir, scene) : join(frameDir, scene, file)),
    flowPath: (scene, file) => (file === undefined ? join(flowDir, scene) : join(flowDir, scene, file)),
  };
}

/**
 * MPI Sintel on disk as flyvis's MultiTaskSintel: `new SintelFlow(root, { split: 'train' })`;
 * items lum (frames, 1, hexals) and flow (frames, 2, hexals) at dt (see SintelDataset).
 */
export class SintelFlow extends SintelDataset {
  readonly root: string;
  readonly pass: 'final' | 'clean';
  constructor(root: string, options: SintelFlowOptions = {}) {
    const { pass, ...rest } = options;
    super(sintelDiskSource(root, pass ?? 'final'), rest);
    this.root = root;
    this.pass = pass ?? 'final';
  }
}
