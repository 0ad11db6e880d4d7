// src/graph: connectome descriptions (decoding), the ConnectomeFromAvgFilters compiler, the
// connectome protocol and registry, graph digests, and the built-in demo connectome.
// Platform-neutral: the Node parts (file paths: src/graph/paths.ts, demoConnectomePath) are
// exported by src/node.ts.
export * from './types.ts';
export type { ConnectomeSpec, EdgeSpec, NodePattern, NodeSpec, OffsetSpec } from './spec.ts';
export { patternStrides } from './spec.ts';
export { decodeConnectomeSpec } from './decode.ts';
export { ConnectomeError, connectomeSpecFromJson, loadConnectomeSpec, registerConnectomeDescription } from './load.ts';
export { compileConnectome, ConnectomeFromAvgFilters, type CompileOptions } from './compile.ts';
export { completeConnectome } from './complete.ts';
export {
  getConnectome,
  initConnectome,
  registerConnectome,
  registeredConnectomes,
  type ConnectomeConfig,
  type ConnectomeFactory,
} from './registry.ts';
export { edgeRecords, edgesDigest, nodeRecords, nodesDigest } from './digest.ts';
export { DEMO_CONNECTOME_FILE, demoConnectome } from './bundled.ts';
export { connectedOffsets, convexHull, fillHull, insideByCrossingRule, type Point } from './hull.ts';
export { hexLatticeSize, onHexLattice, patternPositions, stridedPositions, type LatticePositions } from './lattice.ts';
export { intermediateCellTypes, numericSortKey, orderNodeTypeList, ROLES, roleOf, type Role } from './cell-types.ts';
export {
  categorical,
  categoricalColumn,
  columnLength,
  makeTable,
  numericColumn,
  requireNumericColumn,
} from './table.ts';
