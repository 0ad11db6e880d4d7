// The configured activation (src/kernels/activation.ts) as a differentiable autograd op.
import { type Tensor, elu, leakyrelu, relu, sigmoid, softplus, tanh } from '../autograd/index.ts';
import type { Activation } from '../kernels/activation.ts';

export function activationOp(act: Activation): (x: Tensor) => Tensor {
  const k = act.kwargs;
  switch (act.type) {
    case 'relu':
      return relu;
    case 'elu':
      return (x) => elu(x, k.alpha);
    case 'softplus':
      return (x) => softplus(x, k.beta, k.threshold);
    case 'leakyrelu':
      return (x) => leakyrelu(x, k.negative_slope);
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return tanh;
  }
}
