// Messages between the page (web/src/main.ts) and the simulation worker (web/src/worker.ts).
import type { Link, StimulusSpec } from './spec.ts';

/** What the page needs to draw the network: per cell type its nodes and their lattice coordinates. */
export interface NetworkInfo {
  readonly backend: string;
  readonly nodes: number;
  readonly cellTypes: readonly string[];
  readonly inputTypes: readonly string[];
  readonly outputTypes: readonly string[];
  /** Per cell type (in cellTypes order): node indices and their u, v. */
  readonly layers: readonly { readonly index: Int32Array; readonly u: Int32Array; readonly v: Int32Array }[];
  /** The receptor lattice (stimulus hexals in order). */
  readonly hexU: Int32Array;
  readonly hexV: Int32Array;
  readonly dt: number;
  /** Per cell type, its central cell's inputs and outputs in the connectome (largest first). */
  readonly inputs: Readonly<Record<string, readonly Link[]>>;
  readonly outputs: Readonly<Record<string, readonly Link[]>>;
}

export type ToWorker =
  | { readonly type: 'init'; readonly wasmUrl: string; readonly connectomeUrl: string }
  | { readonly type: 'stimulus'; readonly spec: StimulusSpec }
  | { readonly type: 'step'; readonly frames: number }
  /** A checkpoint's bytes (a flyvis torch file or state_dict JSON), kept under `name` and used. */
  | { readonly type: 'checkpoint'; readonly name: string; readonly bytes: ArrayBuffer }
  /** Use a model loaded before (DEFAULT_MODEL: the network's initial parameters). */
  | { readonly type: 'model'; readonly name: string }
  /** An uploaded movie (.npy bytes), kept under `name` for a stimulus { kind: 'movie', name }. */
  | { readonly type: 'movie'; readonly name: string; readonly bytes: ArrayBuffer }
  /** flyvis's artificial optimal stimulus for a cell type's central cell (src/analysis/optimal-stimulus.ts). */
  | { readonly type: 'optimal'; readonly cellType: string; readonly iterations: number; readonly lr: number; readonly weightMei: number };

export type FromWorker =
  | { readonly type: 'ready'; readonly info: NetworkInfo }
  | { readonly type: 'stimulus'; readonly frames: number; readonly hexals: number; readonly baseline: Float32Array }
  | { readonly type: 'frames'; readonly first: number; readonly count: number; readonly activity: Float32Array; readonly stimulus: Float32Array; readonly ms: number }
  | { readonly type: 'model'; readonly name: string; readonly models: readonly string[] }
  /** A checkpoint that could not be loaded (the model in use is unchanged). */
  | { readonly type: 'checkpoint-error'; readonly name: string; readonly message: string }
  | { readonly type: 'movie'; readonly name: string; readonly frames: number }
  | { readonly type: 'movie-error'; readonly name: string; readonly message: string }
  | { readonly type: 'optimal-progress'; readonly iteration: number; readonly loss: number }
  | {
      readonly type: 'optimal';
      readonly cellType: string;
      readonly frames: number;
      readonly stimulus: Float32Array;
      readonly initialCentral: number;
      readonly finalCentral: number;
      readonly losses: Float32Array;
      readonly ms: number;
    }
  | { readonly type: 'error'; readonly message: string };

/** The name of the network's own initial parameters in the model list. */
export const DEFAULT_MODEL = 'flyvis default (initial parameters)';
