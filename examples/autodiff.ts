/**
 * A tour of the AD engine: run with `npx tsx examples/autodiff.ts`.
 *
 * grad, jvp and vjp of a scalar function, higher derivatives, Hessians and
 * Hessian-vector products, and per-example Jacobians of a small network with
 * vmap(jacrev(f)), all on Float64Array tensors with exact Math.* transcendentals.
 */
import {
  grad,
  hessian,
  hvp,
  jacrev,
  jvp,
  linear,
  mul,
  randn,
  sin,
  sum,
  type Tensor,
  tanh,
  tensor,
  vjp,
  vmap,
} from '../src/autodiff/index.js';

// f(x) = Σ sin(xᵢ)·xᵢ: ∇f = sin x + x cos x, ∇²f = diag(2 cos x − x sin x).
const f = (x: Tensor) => sum(mul(sin(x), x));
const x = tensor([0.5, 1, 2]);
console.log('f(x)          ', f(x).item());
console.log('∇f(x)         ', grad(f)(x).toArray());
console.log('∇²f(x)        ', hessian(f)(x).toArray());
console.log('∇²f(x)·[1,0,0]', hvp(f, x, tensor([1, 0, 0])).toArray());

// Forward and reverse mode of a vector function.
const g = (v: Tensor) => mul(sin(v), 2);
const [, directional] = jvp(g, [x], [tensor([1, 1, 1])]);
const [, pullback] = vjp(g, x);
console.log('J·1           ', directional.toArray());
console.log('Jᵀ·1          ', pullback(tensor([1, 1, 1]))[0].toArray());

// Derivatives nest without confusing their perturbations: d/dx [x · d/dy (x·y)] = 2x.
const nested = grad((a: Tensor) => mul(a, grad((b: Tensor) => sum(mul(a, b)))(tensor(3))));
console.log('d/dx [x · d/dy (x·y)] at x = 2:', nested(tensor(2)).item(), '(= 2x)');

// Per-example Jacobians of a 4 → 8 → tanh → 2 network with respect to its parameters.
const params = [
  { weight: mul(randn([8, 4], 1), 0.5), bias: randn([8], 2) },
  { weight: mul(randn([2, 8], 3), 0.5), bias: randn([2], 4) },
];
type Params = typeof params;
const net = (p: Params, input: Tensor) =>
  linear(tanh(linear(input, p[0]!.weight, p[0]!.bias)), p[1]!.weight, p[1]!.bias);
const inputs = randn([5, 4], 5);
const jacobians = vmap((input: Tensor) => jacrev((p: Params) => net(p, input))(params))(inputs);
console.log(
  'per-example Jacobian shapes:',
  jacobians.map((layer) => ({ weight: layer.weight.shape, bias: layer.bias.shape })),
);
