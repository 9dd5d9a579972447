/**
 * The contract with the Laplace code: src/laplace/network.ts runs its own
 * forward pass and pulls vectors back by hand (σ′ by jvp of each activation).
 * Both must agree with reverse mode through `Sequential.apply`, kinks included
 * (pre-activations exactly 0).
 */
import { describe, expect, it } from 'vitest';
import { mul, sum } from '../../src/autodiff/ops.js';
import { grad } from '../../src/autodiff/transforms.js';
import { Network } from '../../src/laplace/network.js';
import { type ActivationName, activation, Linear, Residual, ravel, Sequential } from '../../src/nn/index.js';
import { randn, zeros } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

const names: ActivationName[] = [
  'identity',
  'tanh',
  'sigmoid',
  'relu',
  'leakyrelu',
  'elu',
  'softplus',
  'gelu',
];

describe('activations agree with the Laplace Jacobian path', () => {
  for (const name of names) {
    it(name, () => {
      const options = { negativeSlope: 0.1, alpha: 0.7 };
      const first = new Linear(2, 5, { seed: 1 });
      first.bias = zeros([5]); // with x = 0 below, every first pre-activation is exactly 0: the kink
      const model = new Sequential([
        first,
        activation(name, options),
        new Linear(5, 4, { seed: 2 }),
        activation(name, options),
        new Linear(4, 3, { seed: 3 }),
      ]);
      const n = 6;
      const x = randn([n, 2], 4);
      x.data.fill(0, 0, 2);
      const v = randn([n, 3], 5);

      const network = new Network(model);
      const theta = model.flatParameters();
      const cache = network.forward(theta, x.data, n);
      expectClose(cache.output, model.forward(x).data, { rtol: 1e-13, atol: 1e-15 });

      // ∂/∂θ Σ v ⊙ f: for Linear ℓ, bias part Σₙ gₗ[n] and weight part Σₙ gₗ[n]ᵀ aₗ[n].
      const cotangents = network.backward(theta, cache, v.data, 1);
      const slots = network.parametric.map(
        (entry, l) => network.slotsOf(l, theta, cache.inputs[entry.index]!, cotangents[l]!, 1)[0]!,
      );
      const expected: number[] = [];
      model.linearLayers.forEach((layer, l) => {
        const [out, inn] = [layer.outFeatures, layer.inFeatures];
        const a = slots[l]!.a!;
        const g = slots[l]!.g;
        for (let i = 0; i < out; i++) {
          for (let j = 0; j < inn; j++) {
            let s = 0;
            for (let e = 0; e < n; e++) s += g[e * out + i]! * a[e * inn + j]!;
            expected.push(s);
          }
        }
        for (let i = 0; i < out; i++) {
          let s = 0;
          for (let e = 0; e < n; e++) s += g[e * out + i]!;
          expected.push(s);
        }
      });
      const reverse = grad((p: ReturnType<Sequential['parameters']>) => sum(mul(model.apply(p, x), v)))(
        model.parameters(),
      );
      expect(expected).toHaveLength(model.nParams);
      expectClose(ravel(reverse), expected, { rtol: 1e-11, atol: 1e-13 });
    });
  }
});

describe('activations pull back in place only in spare buffers', () => {
  // σ′ is applied in place to a cotangent nothing else reads; the caller's v and
  // a cotangent shared by a residual block's branches must stay as they were.
  it('leaves v and a shared cotangent alone', () => {
    const model = new Sequential([
      new Linear(3, 4, { seed: 1 }),
      new Residual([new Linear(4, 4, { seed: 2 }), activation('tanh')]),
      new Linear(4, 2, { seed: 3 }),
      activation('tanh'),
    ]);
    const n = 5;
    const x = randn([n, 3], 4);
    const v = randn([n, 2], 5);
    const before = v.data.slice();
    const network = new Network(model);
    const theta = Network.flatParameters(model);
    const cache = network.forward(theta, x.data, n);
    const cotangents = network.backward(theta, cache, v.data, 1);
    expect(Array.from(v.data)).toEqual(Array.from(before));
    const expected: number[] = [];
    network.parametric.forEach((entry, l) => {
      const layer = entry.layer as Linear;
      const [out, inn] = [layer.outFeatures, layer.inFeatures];
      const { a, g } = network.slotsOf(l, theta, cache.inputs[entry.index]!, cotangents[l]!, 1)[0]!;
      for (let i = 0; i < out; i++) {
        for (let j = 0; j < inn; j++) {
          let s = 0;
          for (let e = 0; e < n; e++) s += g[e * out + i]! * a![e * inn + j]!;
          expected.push(s);
        }
      }
      for (let i = 0; i < out; i++) {
        let s = 0;
        for (let e = 0; e < n; e++) s += g[e * out + i]!;
        expected.push(s);
      }
    });
    const reverse = grad((p: ReturnType<Sequential['parameters']>) => sum(mul(model.apply(p, x), v)))(
      model.parameters(),
    );
    expectClose(ravel(reverse), expected, { rtol: 1e-11, atol: 1e-13 });
  });
});
