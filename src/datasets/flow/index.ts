// Flow datasets, platform-neutral core: the procedural optic-flow dataset, MultiTaskSintel over
// any source of decoded files, and flyvis's augmentations as pure functions. The Node reader of
// Sintel on disk and the --dataset spec helper are in ./node.ts.
export {
  augmentItem,
  contrastBrightness,
  cropFrames,
  flipHexCoords,
  flipHorizontal,
  flipMatrix,
  flipPermutation,
  flipVertical,
  flowItem,
  FLYVIS_TASK_AUGMENT,
  gammaCorrection,
  hexFlip,
  hexRotate,
  interpolateFrames,
  pixelNoise,
  resampledFrames,
  resolveAugmentOptions,
  rotateHexCoords,
  rotationMatrix,
  rotationPermutation,
  sampleAugmentParams,
  sampleContrastBrightness,
  sampleCropStart,
  sampleFlipAxis,
  sampleGamma,
  sampleRotation,
  hexSequence,
  SINTEL_AUGMENT_DEFAULTS,
  type AugmentOptions,
  type AugmentParams,
  type FlowItem,
  type ResolvedAugmentOptions,
  type HexSequence,
} from './augment.ts';
export { FlowDatasetError } from './errors.ts';
export { pinkNoiseTexture, sampleTexture, type Texture } from './texture.ts';
export {
  renderScene,
  renderScenePixels,
  resolveSceneOptions,
  sampleScene,
  sceneFrameSize,
  SCENE_DEFAULTS,
  SINTEL_HEIGHT,
  type LayerMotion,
  type LayerShape,
  type Scene,
  type SceneLayer,
  type SceneOptions,
  type ScenePixels,
  type SceneRenderOptions,
} from './scene.ts';
export { ProceduralFlow, SINTEL_FRAMERATE, type ProceduralFlowOptions } from './procedural.ts';
export {
  encodeFlo,
  FLO_MAGIC,
  parseFlo,
  SINTEL_DROPPED_VALIDATION_INDICES,
  SINTEL_TRAIN_SCENES,
  SINTEL_VALIDATION_SCENES,
  SintelDataset,
  sintelTrainValidationIndices,
  splitColumns,
  type FloFile,
  type LumFrame,
  type SintelOptions,
  type SintelSource,
} from './sintel.ts';
export type { FlowDataset } from './types.ts';
export { flowBatch, stackFlowItems, type FlowBatch } from './batch.ts';
