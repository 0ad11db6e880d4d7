// The explorer's stimuli and constants, free of the library (the page's main thread imports this;
// the worker and the tests build the movies from it in web/src/sim.ts).
export const CONNECTOME = 'fib25-fib19_v2.2.json';
export const EXTENT = 15;
export const DT = 1 / 50;

/** A full-field (radius -1) or disc flash: grey 0.5 for tPre, ON (1) or OFF (0) for tStim, grey again. */
export interface FlashSpec {
  readonly kind: 'flash';
  readonly intensity: 0 | 1;
  readonly radius: number;
  readonly tPre: number;
  readonly tStim: number;
}

/** flyvis's moving edge: direction (degrees), speed (columns/s), ON (1) or OFF (0), grey before and after. */
export interface EdgeSpec {
  readonly kind: 'edge';
  readonly angle: number;
  readonly speed: number;
  readonly intensity: 0 | 1;
  readonly tPre: number;
  readonly tPost: number;
}

/** flyvis's moving bar: width in LEDs (2.25°), height 9 LEDs, direction, speed, ON/OFF on grey. */
export interface BarSpec {
  readonly kind: 'bar';
  readonly angle: number;
  readonly speed: number;
  readonly width: number;
  readonly intensity: 0 | 1;
  readonly tPre: number;
  readonly tPost: number;
}

/** flyvis's drifting square-wave grating: direction, spatial period (°), temporal frequency (Hz). */
export interface GratingSpec {
  readonly kind: 'grating';
  readonly angle: number;
  readonly period: number;
  readonly temporalFrequency: number;
  readonly tPre: number;
  readonly tStim: number;
}

/** A movie the user uploaded (.npy, one frame per step of dt 1/50), held by the worker under `name`. */
export interface MovieSpec {
  readonly kind: 'movie';
  readonly name: string;
}

/** The stimuli rendered from the library's datasets. */
export type DatasetSpec = FlashSpec | EdgeSpec | BarSpec | GratingSpec;
export type StimulusSpec = DatasetSpec | MovieSpec;

export const DEFAULT_FLASH: FlashSpec = { kind: 'flash', intensity: 1, radius: -1, tPre: 0.5, tStim: 0.5 };
export const DEFAULT_EDGE: EdgeSpec = { kind: 'edge', angle: 0, speed: 19, intensity: 1, tPre: 0.5, tPost: 0.5 };
export const DEFAULT_BAR: BarSpec = { kind: 'bar', angle: 0, speed: 19, width: 4, intensity: 1, tPre: 0.5, tPost: 0.5 };
export const DEFAULT_GRATING: GratingSpec = { kind: 'grating', angle: 0, period: 20, temporalFrequency: 2, tPre: 0.5, tStim: 1 };

/** A connection of a cell type's central cell: the other cell type, its sign, the synapses summed over edges. */
export interface Link {
  readonly type: string;
  readonly sign: number;
  readonly synapses: number;
}
