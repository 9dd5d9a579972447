import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { inferShapes, type LayerSpec, parameterCount, resolveArchitecture } from '../../src/data/arch.js';
import { networkFromArchitecture } from '../../src/data/arch-network.js';
import { randn } from '../../src/tensor.js';

/** conv/pool blocks on an image, then flatten and one or two linear layers, with activations between. */
const imageArchitectures = fc.record({
  inputShape: fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 6, max: 14 }),
    fc.integer({ min: 6, max: 14 }),
  ),
  blocks: fc.array(
    fc.oneof(
      fc.record({
        type: fc.constant('conv2d' as const),
        outChannels: fc.integer({ min: 1, max: 4 }),
        kernelSize: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.integer({ min: 0, max: 1 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        groups: fc.constant(1),
        bias: fc.boolean(),
      }),
      fc.record({
        type: fc.constantFrom('maxpool2d' as const, 'avgpool2d' as const),
        kernelSize: fc.integer({ min: 2, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.constant(0),
      }),
      fc.constantFrom<LayerSpec>({ type: 'relu' }, { type: 'tanh' }, { type: 'batchnorm2d' }),
    ),
    { maxLength: 4 },
  ),
  head: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 2 }),
});

describe('networkFromArchitecture', () => {
  it('builds the small CNN: 20,490 weights, [n, 1, 28, 28] in and [n, 10] out', () => {
    const text = 'conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,maxpool(2),flatten,linear(10)';
    const model = networkFromArchitecture(resolveArchitecture(text, [1, 28, 28]), { seed: 0 });
    expect(model.layers.map((layer) => layer.type)).toEqual([
      'conv2d',
      'relu',
      'maxpool2d',
      'conv2d',
      'relu',
      'maxpool2d',
      'flatten',
      'linear',
    ]);
    expect(model.nParams).toBe(20490);
    expect(model.forward(randn([2, 1, 28, 28], 1)).shape).toEqual([2, 10]);
  });

  test.prop([imageArchitectures, fc.integer()], { numRuns: 30 })(
    "the layers' own shape rules agree with the inferred shapes, and their weights with parameterCount",
    ({ inputShape, blocks, head }, seed) => {
      const layers: LayerSpec[] = [
        ...blocks,
        { type: 'flatten' },
        ...head.flatMap((outFeatures, i): LayerSpec[] => [
          ...(i > 0 ? [{ type: 'tanh' } as const] : []),
          { type: 'linear', outFeatures, bias: true },
        ]),
      ];
      let resolved: ReturnType<typeof inferShapes>;
      try {
        resolved = inferShapes(layers, inputShape);
      } catch {
        return; // a feature map shrank to nothing: nothing to build
      }
      const model = networkFromArchitecture(resolved, { seed });
      expect([...model.outputShape]).toEqual(resolved.outputShape);
      model.layers.forEach((layer, i) => {
        expect([...layer.outputShape(resolved.shapes[i]!)]).toEqual(resolved.shapes[i + 1]);
        const weights = layer.parameters().reduce((total, p) => total + p.data.length, 0);
        expect(weights).toBe(parameterCount(resolved.layers[i]!));
      });
    },
  );

  it('fixes every weight by the seed', () => {
    const architecture = resolveArchitecture('conv(4,3),relu,flatten,linear(3)', [2, 6, 6]);
    const weights = (seed: number) => [
      ...networkFromArchitecture(architecture, { seed }).layers.flatMap((l) =>
        l.parameters().flatMap((p) => [...p.data]),
      ),
    ];
    expect(weights(5)).toEqual(weights(5));
    expect(weights(5)).not.toEqual(weights(6));
  });
});
