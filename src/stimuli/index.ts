// Stimuli on the hexagonal eye: rendering (BoxEye, HexEye), temporal helpers, datasets in the
// shape Network.stimulusResponse consumes, and loaders for users' movies.
export { BoxEye, type ImageStack } from './box-eye.ts';
export { HexEye, LED_DEG, OMMATIDIUM_DEG, type BarSpec, type GratingSpec } from './hex-eye.ts';
export { hexLattice, hexDistance, discIndices, hexalIndex, extentOfHexals, type HexLattice } from './hex.ts';
export { resample, resampleIndices, pad, constantFrames, concatFrames, stackMovies, frames, type Frames, type Movie, type PadMode } from './movie.ts';
export {
  Flashes,
  MovingBar,
  MovingEdge,
  Gratings,
  Dots,
  CentralImpulses,
  SpatialImpulses,
  UserMovies,
  type StimulusDataset,
  type ItemParams,
  type FlashesOptions,
  type MovingBarOptions,
  type MovingEdgeOptions,
  type GratingsOptions,
  type DotsOptions,
  type UserMoviesOptions,
} from './datasets.ts';
export { decodePng, readPng, type GreyImage } from './png.ts';
export { loadMovies, readPngSequence, pngFrameFiles } from './load.ts';
export { StimulusParamError } from './errors.ts';
