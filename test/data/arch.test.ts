import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ArchitectureError,
  formatArchitecture,
  inferShapes,
  type LayerSpec,
  parameterCount,
  parseArchitecture,
  parseInputShape,
  resolveArchitecture,
  summarizeArchitecture,
} from '../../src/data/arch.js';
import { ShapeError, ValueError } from '../../src/errors.js';

const small = fc.integer({ min: 1, max: 5 });

const layerSpecs: fc.Arbitrary<LayerSpec> = fc.oneof(
  fc.record({
    type: fc.constant('conv2d' as const),
    outChannels: fc.integer({ min: 1, max: 64 }),
    kernelSize: small,
    stride: small,
    padding: fc.nat(3),
    dilation: small,
    groups: small,
    bias: fc.boolean(),
  }),
  ...(['maxpool2d', 'avgpool2d'] as const).map((type) =>
    fc.record({ type: fc.constant(type), kernelSize: small, stride: small, padding: fc.nat(2) }),
  ),
  fc.record({
    type: fc.constant('linear' as const),
    outFeatures: fc.integer({ min: 1, max: 1000 }),
    bias: fc.boolean(),
  }),
  fc.record({ type: fc.constant('dropout' as const), p: fc.double({ min: 0, max: 0.99, noNaN: true }) }),
  fc.record({
    type: fc.constant('leakyrelu' as const),
    negativeSlope: fc.double({ min: -1, max: 1, noNaN: true }),
  }),
  fc.record({ type: fc.constant('elu' as const), alpha: fc.double({ min: 0, max: 3, noNaN: true }) }),
  fc.constantFrom<LayerSpec>(
    { type: 'flatten' },
    { type: 'batchnorm2d' },
    { type: 'batchnorm1d' },
    { type: 'relu' },
    { type: 'tanh' },
    { type: 'sigmoid' },
    { type: 'gelu' },
    { type: 'softplus' },
    { type: 'identity' },
  ),
);

/** −0 prints as "0"; a round trip may only be asked to give back what prints. */
const printable = (spec: LayerSpec): LayerSpec =>
  Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [k, typeof v === 'number' ? v + 0 : v]),
  ) as LayerSpec;

/** The number of positions of a window spanning `span` pixels, slid by `stride` over n + 2·padding pixels, counted one by one. */
function windowPositions(n: number, span: number, stride: number, padding: number): number {
  let count = 0;
  for (let start = 0; start + span <= n + 2 * padding; start += stride) count++;
  return count;
}

describe('parseArchitecture', () => {
  it('reads the small CNN and carries [1, 28, 28] through it', () => {
    const text = 'conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,maxpool(2),flatten,linear(10)';
    const { layers, shapes, outputShape } = resolveArchitecture(text, [1, 28, 28]);
    expect(layers[0]).toEqual({
      type: 'conv2d',
      inChannels: 1,
      outChannels: 16,
      kernelSize: 3,
      stride: 1,
      padding: 1,
      dilation: 1,
      groups: 1,
      bias: true,
    });
    expect(layers[2]).toEqual({ type: 'maxpool2d', kernelSize: 2, stride: 2, padding: 0 });
    expect(layers[3]).toMatchObject({ type: 'conv2d', inChannels: 16, outChannels: 32 });
    expect(layers[7]).toEqual({ type: 'linear', inFeatures: 32 * 7 * 7, outFeatures: 10, bias: true });
    expect(shapes).toEqual([
      [1, 28, 28],
      [16, 28, 28],
      [16, 28, 28],
      [16, 14, 14],
      [32, 14, 14],
      [32, 14, 14],
      [32, 7, 7],
      [1568],
      [10],
    ]);
    expect(outputShape).toEqual([10]);
  });

  test.prop([fc.array(layerSpecs, { minLength: 1, maxLength: 8 })])(
    'parse(format(layers)) gives the layers back, and format is canonical',
    (layers) => {
      const text = formatArchitecture(layers);
      const parsed = parseArchitecture(text);
      expect(parsed).toEqual(layers.map(printable));
      expect(formatArchitecture(parsed)).toBe(text);
    },
  );

  test.prop([fc.array(layerSpecs, { minLength: 1, maxLength: 6 }), fc.boolean()])(
    'reads every argument given by keyword, in PyTorch or camel case, with spaces',
    (layers, snake) => {
      const text = layers
        .map((spec) => {
          const { type, ...options } = spec as LayerSpec & Record<string, number | boolean>;
          const args = Object.entries(options).map(([key, value]) => {
            const name = snake ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key;
            return ` ${name} = ${String(value)} `;
          });
          const name = snake ? type.replace('2d', '2D').toUpperCase() : type;
          return args.length === 0 ? ` ${name} ` : ` ${name} ( ${args.join(',')} ) `;
        })
        .join(',');
      expect(parseArchitecture(text)).toEqual(layers.map(printable));
    },
  );

  it('fills in defaults: pools stride by their kernel, dropout drops half', () => {
    expect(parseArchitecture('maxpool(3),avgpool(2,1),dropout,leakyrelu,elu')).toEqual([
      { type: 'maxpool2d', kernelSize: 3, stride: 3, padding: 0 },
      { type: 'avgpool2d', kernelSize: 2, stride: 1, padding: 0 },
      { type: 'dropout', p: 0.5 },
      { type: 'leakyrelu', negativeSlope: 0.01 },
      { type: 'elu', alpha: 1 },
    ]);
  });

  test.prop([
    fc.array(fc.constantFrom('relu', 'flatten', 'linear(3)', 'conv(2,3)'), { maxLength: 4 }),
    fc.nat(4),
  ])('names an unknown layer and its column', (before, spaces) => {
    const prefix = before.map((layer) => `${layer},`).join('') + ' '.repeat(spaces);
    const text = `${prefix}convolution(16,3),relu`;
    try {
      parseArchitecture(text);
      expect.fail('no error');
    } catch (error) {
      expect(error).toBeInstanceOf(ArchitectureError);
      expect(error).toBeInstanceOf(ValueError);
      expect((error as ArchitectureError).column).toBe(prefix.length + 1);
      expect((error as ArchitectureError).token).toBe('convolution');
      expect((error as Error).message).toContain(`"convolution" at column ${prefix.length + 1}`);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it.each([
    ['conv(16,0)', 9, /kernelSize of conv must be a positive integer, got "0" at column 9/],
    ['relu,conv(16,3,foo=2)', 16, /unknown argument "foo" of conv at column 16/],
    ['conv(16)', 1, /conv at column 1 needs kernelSize/],
    ['linear(10,true,3)', 16, /too many arguments to linear: "3" at column 16/],
    ['dropout(1)', 9, /p of dropout must be a number in \[0, 1\)/],
    ['conv(16,3,bias=maybe)', 11, /bias of conv must be true or false/],
    ['conv(stride=2,16,3)', 15, /positional argument "16" at column 15 follows a keyword/],
    ['maxpool(2,stride=1,stride=2)', 20, /stride of maxpool given twice/],
    ['relu,,tanh', 6, /expected a layer name at column 6/],
    ['relu tanh', 6, /expected "," after relu at column 6, found "tanh"/],
    ['conv(16,3', 5, /unclosed "\(" of conv at column 5/],
    ['', 1, /empty architecture/],
  ])('%s: one line naming the token and its column', (text, column, message) => {
    expect(() => parseArchitecture(text)).toThrow(message);
    try {
      parseArchitecture(text);
    } catch (error) {
      expect((error as ArchitectureError).column).toBe(column);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('inferShapes', () => {
  test.prop([
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 8 }),
    small,
    small,
    fc.nat(3),
    small,
  ])(
    'conv2d output sizes count the window positions, and a map shrinking to nothing is a ShapeError',
    (channels, h, w, outChannels, kernelSize, stride, padding, dilation) => {
      const spec: LayerSpec = {
        type: 'conv2d',
        outChannels,
        kernelSize,
        stride,
        padding,
        dilation,
        groups: 1,
        bias: true,
      };
      const span = dilation * (kernelSize - 1) + 1;
      const expected = [
        outChannels,
        windowPositions(h, span, stride, padding),
        windowPositions(w, span, stride, padding),
      ];
      if (expected[1] === 0 || expected[2] === 0) {
        expect(() => inferShapes([spec], [channels, h, w])).toThrow(ShapeError);
        expect(() => inferShapes([spec], [channels, h, w])).toThrow(
          /layer 1 \(conv\(.*\)\) gets \[\d+, \d+, \d+\]: its window spans/,
        );
      } else {
        const { outputShape, layers } = inferShapes([spec], [channels, h, w]);
        expect(outputShape).toEqual(expected);
        expect(layers[0]).toMatchObject({ inChannels: channels });
      }
    },
  );

  test.prop([
    fc.constantFrom('maxpool2d' as const, 'avgpool2d' as const),
    fc.integer({ min: 1, max: 30 }),
    fc.integer({ min: 1, max: 30 }),
    small,
    small,
    fc.nat(2),
  ])('pool output sizes count the window positions', (type, h, w, kernelSize, stride, padding) => {
    const spec: LayerSpec = { type, kernelSize, stride, padding };
    const expected = [
      3,
      windowPositions(h, kernelSize, stride, padding),
      windowPositions(w, kernelSize, stride, padding),
    ];
    if (2 * padding > kernelSize) {
      expect(() => inferShapes([spec], [3, h, w])).toThrow(/at most half the kernel size/);
    } else if (expected[1] === 0 || expected[2] === 0) {
      expect(() => inferShapes([spec], [3, h, w])).toThrow(ShapeError);
    } else {
      expect(inferShapes([spec], [3, h, w]).outputShape).toEqual(expected);
    }
  });

  test.prop([
    fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
    fc.integer({ min: 1, max: 9 }),
  ])('flatten multiplies the sizes out and linear takes what flatten gives', (inputShape, outFeatures) => {
    const { layers, outputShape, shapes } = inferShapes(
      [{ type: 'flatten' }, { type: 'linear', outFeatures, bias: true }],
      inputShape,
    );
    const features = inputShape.reduce((a, b) => a * b, 1);
    expect(shapes[1]).toEqual([features]);
    expect(layers[1]).toMatchObject({ inFeatures: features });
    expect(outputShape).toEqual([outFeatures]);
  });

  it('names the layer, its column and the shapes when the architecture does not fit the input', () => {
    expect(() => resolveArchitecture('conv(16,3),relu,linear(10)', [1, 28, 28])).toThrow(
      'architecture: layer 3 (linear(10) at column 17) gets [16, 26, 26]: linear needs a flat input [features]; put flatten before it',
    );
    expect(() =>
      resolveArchitecture('conv(8,5),maxpool(2),conv(8,5),maxpool(2),conv(8,5)', [1, 28, 28]),
    ).toThrow(
      /layer 5 \(conv\(8,5\) at column 43\) gets \[8, 4, 4\]: its window spans 5×5 pixels, more than the 4×4 padded input, so the output would be \[8, 0, 0\]/,
    );
    expect(() => resolveArchitecture('flatten,conv(8,3)', [1, 28, 28])).toThrow(
      /conv2d needs an image \[C, H, W\]/,
    );
    expect(() => resolveArchitecture('conv(6,3,groups=4)', [2, 8, 8])).toThrow(
      /groups = 4 must divide both its 2 input and 6 output channels/,
    );
    expect(() => resolveArchitecture('batchnorm', [10])).toThrow(/batchnorm2d needs an image/);
    expect(resolveArchitecture('batchnorm', [3, 4, 4]).layers[0]).toEqual({
      type: 'batchnorm2d',
      numFeatures: 3,
    });
    expect(resolveArchitecture('flatten,batchnorm1d', [3, 4, 4]).layers[1]).toEqual({
      type: 'batchnorm1d',
      numFeatures: 48,
    });
    expect(() => resolveArchitecture('batchnorm1d', [3, 4, 4])).toThrow(/batchnorm1d needs a flat input/);
  });

  it('rejects an input shape that is not positive integers', () => {
    expect(() => inferShapes([], [1, 0, 28])).toThrow(ShapeError);
    expect(parseInputShape('1,28,28')).toEqual([1, 28, 28]);
    expect(parseInputShape('[3, 32, 32]')).toEqual([3, 32, 32]);
    expect(() => parseInputShape('1,28,x')).toThrow(/comma-separated positive integers/);
    expect(() => parseInputShape('0,28')).toThrow(ValueError);
  });
});

describe('parameterCount', () => {
  it('counts the small CNN as PyTorch does: 160 + 4,640 + 15,690', () => {
    const text = 'conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,maxpool(2),flatten,linear(10)';
    const resolved = resolveArchitecture(text, [1, 28, 28]);
    // conv: 16·1·3·3 + 16; conv: 32·16·3·3 + 32; linear: 1568·10 + 10
    expect(resolved.layers.map(parameterCount)).toEqual([160, 0, 0, 4640, 0, 0, 0, 15690]);
    expect(summarizeArchitecture(resolved)).toEqual([
      'conv(16,3,pad=1)  [1, 28, 28] → [16, 28, 28]   160 parameters',
      'relu              [16, 28, 28] → [16, 28, 28]',
      'maxpool(2)        [16, 28, 28] → [16, 14, 14]',
      'conv(32,3,pad=1)  [16, 14, 14] → [32, 14, 14]  4,640 parameters',
      'relu              [32, 14, 14] → [32, 14, 14]',
      'maxpool(2)        [32, 14, 14] → [32, 7, 7]',
      'flatten           [32, 7, 7] → [1568]',
      'linear(10)        [1568] → [10]                15,690 parameters',
      '20,490 parameters in all',
    ]);
  });

  test.prop([fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), small, fc.boolean()])(
    'a grouped convolution has 1/groups of the weights of a full one',
    (groups, multiple, kernelSize, bias) => {
      const channels = groups * multiple;
      const spec = (g: number): LayerSpec => ({
        type: 'conv2d',
        outChannels: channels,
        kernelSize,
        stride: 1,
        padding: kernelSize,
        dilation: 1,
        groups: g,
        bias,
      });
      const count = (g: number) => parameterCount(inferShapes([spec(g)], [channels, 4, 4]).layers[0]!);
      const biases = bias ? channels : 0;
      expect((count(1) - biases) / groups).toBe(count(groups) - biases);
    },
  );
});
