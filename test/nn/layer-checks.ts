/** Checks every layer test runs: gradients against central differences, and the JSON round trip. */
import { expect } from 'vitest';
import { mul, sum } from '../../src/autodiff/ops.js';
import { grad } from '../../src/autodiff/transforms.js';
import type { Layer } from '../../src/nn/module.js';
import { randn, Tensor } from '../../src/tensor.js';
import { finiteDifferenceGradient } from '../finite-differences.js';
import { expectClose } from '../helpers.js';

/**
 * ∂/∂θ and ∂/∂x of the scalar ⟨r, h(θ, x)⟩ (r random) by grad, each against
 * central differences of the layer's forward.
 */
export function expectGradientsMatchDifferences(layer: Layer, x: Tensor, seed: number): void {
  const params = layer.parameters();
  const r = randn(layer.apply(params, x).shape, seed);
  const scalar = (ps: readonly Tensor[], input: Tensor) => sum(mul(layer.apply(ps, input), r));
  const [gParams, gX] = grad((ps: Tensor[], input: Tensor) => scalar(ps, input), [0, 1])([...params], x) as [
    Tensor[],
    Tensor,
  ];
  params.forEach((p, i) => {
    const f = (theta: Float64Array) =>
      scalar(
        params.map((q, j) => (j === i ? new Tensor(theta, p.shape) : q)),
        x,
      ).data[0]!;
    expectClose(gParams[i]!, finiteDifferenceGradient(f, p.data), { rtol: 1e-6, atol: 1e-7 });
  });
  const fx = (theta: Float64Array) => scalar(params, new Tensor(theta, x.shape)).data[0]!;
  expectClose(gX, finiteDifferenceGradient(fx, x.data), { rtol: 1e-6, atol: 1e-7 });
}

/**
 * toJSON survives JSON text, and fromJSON of it gives a layer with the same
 * JSON form and the same outputs on x.
 */
export function expectJsonRoundTrip(
  layer: Layer,
  fromJSON: (json: Record<string, unknown>, what: string) => Layer,
  x: Tensor,
): Layer {
  const text = JSON.stringify(layer.toJSON());
  const back = fromJSON(JSON.parse(text) as Record<string, unknown>, 'test');
  expect(back.type).toBe(layer.type);
  expect(JSON.stringify(back.toJSON())).toBe(text);
  expectClose(back.apply(back.parameters(), x), layer.apply(layer.parameters(), x), { rtol: 0, atol: 0 });
  return back;
}
