// Node wrapper: checkpoint files on disk. The reader and writer themselves are platform-neutral.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic.ts';
import { readTorchFile } from './reader.ts';
import { TorchFileError, type TorchValue, type TorchWritable } from './values.ts';
import { writeTorchFile, type WriteTorchOptions } from './writer.ts';

/** Reads a file written by torch.save (zip format); errors name the path. */
export function loadTorchFile(path: string): TorchValue {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TorchFileError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a checkpoint file' : `cannot read (${code ?? String(e)})`);
  }
  return readTorchFile(bytes, path);
}

/** Writes `value` as torch.save does (atomically: a failed write leaves no partial file). */
export function saveTorchFile(path: string, value: TorchWritable, options: WriteTorchOptions = {}): void {
  writeFileAtomic(path, writeTorchFile(value, options));
}
