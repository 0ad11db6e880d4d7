// What is known experimentally about the cell types of the fly visual system, as flyvis states
// it: the preferred contrast (ON / OFF polarity) of 32 cell types and the preferred directions
// of motion of T4a-d (ON edges) and T5a-d (OFF edges), for checking what trained networks
// predict. Source: flyvis 1.1.3, flyvis/utils/groundtruth_utils.py (`polarity`,
// `preferred_directions`, `on_motion_tuning`, `off_motion_tuning`; github.com/TuragaLab/flyvis
// commit b0b3365d722fcea0b88669ebc0ebd2914023efd6), and flyvis/utils/nodes_edges_utils.py
// (`nodes_list_sorting_on_off_unknown`) for the order flyvis plots them in. Values and order
// are flyvis's, unchanged.

/** 1: ON, -1: OFF, 0: unknown (flyvis's convention). */
export type Polarity = 1 | -1 | 0;

/**
 * flyvis's `polarity` table, in its order: 1 is ON, -1 is OFF, 0 is unknown. L5 is ON after
 * Drews 2020 and Matulis 2020 (flyvis's comment).
 */
export const POLARITY: Readonly<Record<string, Polarity>> = Object.freeze({
  R1: 1, R2: 1, R3: 1, R4: 1, R5: 1, R6: 1, R7: 1, R8: 1,
  L1: -1, L2: -1, L3: -1, L4: -1, L5: 1,
  Lawf1: 0, Lawf2: 0, Am: 0, C2: 0, C3: 1, 'CT1(Lo1)': -1, 'CT1(M10)': 1,
  Mi1: 1, Mi2: 0, Mi3: 0, Mi4: 1, Mi9: -1, Mi10: 0, Mi11: 0, Mi12: 0, Mi13: 0, Mi14: 0, Mi15: 0,
  T1: 0, T2: 0, T2a: 0, T3: 0,
  T4a: 1, T4b: 1, T4c: 1, T4d: 1, T5a: -1, T5b: -1, T5c: -1, T5d: -1,
  Tm1: -1, Tm2: -1, Tm3: 1, Tm4: -1, Tm5Y: 0, Tm5a: 0, Tm5b: 0, Tm5c: 0, Tm9: -1,
  Tm16: 0, Tm20: 0, Tm28: 0, Tm30: 0,
  TmY3: 0, TmY4: 0, TmY5a: 0, TmY9: 0, TmY10: 0, TmY13: 0, TmY14: 0, TmY15: 0, TmY18: 0,
});

/** The cell types with an experimentally known polarity (flyvis's `known_preferred_contrasts`): 32. */
export const KNOWN_POLARITY: Readonly<Record<string, 1 | -1>> = Object.freeze(
  Object.fromEntries(Object.entries(POLARITY).filter(([, v]) => v !== 0)) as Record<string, 1 | -1>,
);

/**
 * flyvis's `preferred_directions` of T4a-d and T5a-d, in degrees, in the direction convention of
 * flyvis's moving-edge stimuli (the one `MovingEdge` renders here). T4 types are measured with
 * ON edges, T5 types with OFF edges (flyvis's `angular_distance_to_known`).
 */
export const PREFERRED_DIRECTIONS: Readonly<Record<string, number>> = Object.freeze({
  T4a: 180, T4b: 0, T4c: 90, T4d: 270,
  T5a: 180, T5b: 0, T5c: 90, T5d: 270,
});

/** Direction-selective for ON edges (flyvis's `on_motion_tuning`). */
export const ON_MOTION_TUNING: readonly string[] = Object.freeze(['T4a', 'T4b', 'T4c', 'T4d']);
/** Direction-selective for OFF edges (flyvis's `off_motion_tuning`). */
export const OFF_MOTION_TUNING: readonly string[] = Object.freeze(['T5a', 'T5b', 'T5c', 'T5d']);

/** The known polarity of a cell type (0 for unknown and for types not in flyvis's table). */
export const polarityOf = (cellType: string): Polarity => POLARITY[cellType] ?? 0;

/** The edge intensity a motion-tuned type's known preferred direction refers to (1: ON, 0: OFF), or null. */
export function knownDirectionIntensity(cellType: string): 1 | 0 | null {
  if (ON_MOTION_TUNING.includes(cellType)) return 1;
  if (OFF_MOTION_TUNING.includes(cellType)) return 0;
  return null;
}

/**
 * Cell types ordered as flyvis plots them (`nodes_list_sorting_on_off_unknown`): known ON types,
 * then known OFF types, then unknown, each in the order of flyvis's table. Unlike flyvis (which
 * drops them), types missing from the table follow at the end in the order given.
 */
export function sortOnOffUnknown(cellTypes: readonly string[]): string[] {
  const given = new Set(cellTypes);
  const table = Object.keys(POLARITY).filter((t) => given.has(t));
  const rank = (t: string): number => ({ 1: 0, '-1': 1, 0: 2 })[POLARITY[t]!]!;
  const known = [...table].sort((a, b) => rank(a) - rank(b)); // stable: table order within a group
  return [...known, ...cellTypes.filter((t) => !(t in POLARITY))];
}

/** The shortest angle between two directions in degrees, from 0 to 180 (flyvis's `simple_angle_distance`). */
export function angularDistance(a: number, b: number): number {
  const x = ((a % 360) + 360) % 360;
  const y = ((b % 360) + 360) % 360;
  const d = Math.abs(x - y);
  return d > 180 ? 360 - d : d;
}
