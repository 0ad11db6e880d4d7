// The built-in demo connectome (data/demo-connectome.json): a small SYNTHETIC description in
// flyvis's schema (photoreceptors R1..R8, a few intermediate and output types) so that
// everything runs on a fresh clone without external files. It is not biological data.
import { join } from 'node:path';
import { ConnectomeFromAvgFilters, type CompileOptions } from './compile.ts';
import { connectomeDataDir } from './paths.ts';
import type { Connectome } from './types.ts';

/** Absolute path of the demo connectome description. */
export const demoConnectomePath: string = join(connectomeDataDir, 'demo-connectome.json');

/** The demo connectome compiled at `extent` (default 15) with `nSynFill` (default 1). */
export function demoConnectome(extent?: number, nSynFill?: number): Connectome;
export function demoConnectome(options: CompileOptions): Connectome;
export function demoConnectome(extentOrOptions?: number | CompileOptions, nSynFill?: number): Connectome {
  return typeof extentOrOptions === 'object'
    ? ConnectomeFromAvgFilters(demoConnectomePath, extentOrOptions)
    : ConnectomeFromAvgFilters(demoConnectomePath, extentOrOptions, nSynFill);
}
