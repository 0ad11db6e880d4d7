// flyvis-ts autodiff engine: tensors over typed arrays, ops with their VJPs, and the
// grad / valueAndGrad / noGrad transforms. See docs/autograd.md for the design.
export {
  AutogradError, Tensor, allocate, assertTensor, formatShape, full, normalizeAxis, ones, sameShape, scalar, shapeSize, tensor, zeros,
  type DType, type FloatArray, type Shape,
} from './tensor.ts';
export {
  defineAsyncOp, defineOp, graphStats, isRecording, noGrad, type AsyncOp, type AsyncOpDefinition, type GraphStats, type Op, type OpDefinition,
  type VjpContext, type VjpResult,
} from './tape.ts';
export { grad, gradAsync, valueAndGrad, valueAndGradAsync, type ParamTree, type TensorTree, type ValueAndGrad } from './transforms.ts';
export {
  abs, add, broadcastShapes, clamp, div, elu, exp, leakyrelu, log, maximum, minimum, mul, neg, pow, relu, sigmoid, softplus, sqrt,
  square, sub, tanh,
} from './elementwise.ts';
export { concat, indexSelect, mean, reshape, scatterSum, slice, stack, sum } from './structural.ts';
