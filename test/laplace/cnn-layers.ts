/** Minimal convolutional layers for the Laplace tests (test-only stand-ins built on the AD ops). */
import { add, avgPool2d, conv2d, maxPool2d, relu, reshape, tanh } from '../../src/autodiff/ops.js';
import type { Layer, LayerJSON } from '../../src/nn/index.js';
import { Linear, Sequential } from '../../src/nn/index.js';
import { seededRng } from '../../src/random.js';
import { type Shape, sizeOf, Tensor } from '../../src/tensor.js';

const out = (n: number, k: number, s: number, p: number, d = 1) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

export class TestConv2d implements Layer {
  readonly type = 'conv2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number] = [1, 1];
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    k: number,
    { stride = 1, padding = 0, bias = true, groups = 1, seed = 0 } = {},
    readonly groups_ = groups,
  ) {
    this.kernelSize = [k, k];
    this.stride = [stride, stride];
    this.padding = [padding, padding];
    const rng = seededRng(seed);
    const w = new Float64Array((outChannels * inChannels * k * k) / groups).map(() => rng.normal() * 0.5);
    this.weight = new Tensor(w, [outChannels, inChannels / groups, k, k]);
    this.bias = bias
      ? new Tensor(
          new Float64Array(outChannels).map(() => 0.2 * rng.normal()),
          [outChannels],
        )
      : null;
  }
  get groups(): number {
    return this.groups_;
  }
  parameters(): Tensor[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }
  setParameters(params: readonly Tensor[]): void {
    this.weight = params[0]!;
    if (this.bias) this.bias = params[1]!;
  }
  outputShape([, h, w]: Shape): Shape {
    const [k] = this.kernelSize;
    return [
      this.outChannels,
      out(h!, k, this.stride[0], this.padding[0]),
      out(w!, k, this.stride[1], this.padding[1]),
    ];
  }
  apply(params: readonly Tensor[], x: Tensor): Tensor {
    return conv2d(x, params[0]!, params[1] ?? null, {
      stride: this.stride,
      padding: this.padding,
      groups: this.groups,
    });
  }
  toJSON(): LayerJSON {
    return { type: this.type };
  }
}

function parameterless(type: string, shape: (s: Shape) => Shape, f: (x: Tensor) => Tensor): Layer {
  return {
    type,
    parameters: () => [],
    setParameters: () => {},
    outputShape: shape,
    apply: (_p: readonly Tensor[], x: Tensor) => f(x),
    toJSON: () => ({ type }),
  };
}

export const testMaxPool = (k: number) =>
  parameterless(
    'test-maxpool',
    ([c, h, w]) => [c!, out(h!, k, k, 0), out(w!, k, k, 0)],
    (x) => maxPool2d(x, { kernelSize: k }),
  );
export const testAvgPool = (k: number, s: number) =>
  parameterless(
    'test-avgpool',
    ([c, h, w]) => [c!, out(h!, k, s, 0), out(w!, k, s, 0)],
    (x) => avgPool2d(x, { kernelSize: k, stride: s }),
  );
export const testFlatten = () =>
  parameterless(
    'test-flatten',
    (s) => [sizeOf(s)],
    (x) => reshape(x, [x.shape[0]!, -1]),
  );
export const testRelu = () => parameterless('test-relu', (s) => s, relu);
export const testTanh = () => parameterless('test-tanh', (s) => s, tanh);

/** The three networks of the convolutional conformance cases, small enough for finite differences. */
export function smallCnns(): { name: string; model: Sequential; outputs: number }[] {
  const reluMax = new Sequential(
    [
      new TestConv2d(1, 2, 3, { padding: 1, seed: 1 }),
      testRelu(),
      testMaxPool(2),
      testFlatten(),
      Linear.fromParameters(randomMatrix(3, 2 * 2 * 2, 2), randomMatrix(1, 3, 3).data),
    ],
    { inputShape: [1, 4, 4] },
  );
  const tanhStrided = new Sequential(
    [
      new TestConv2d(1, 2, 3, { stride: 2, bias: false, seed: 4 }),
      testTanh(),
      testAvgPool(2, 1),
      testFlatten(),
      Linear.fromParameters(randomMatrix(3, 2 * 1 * 1, 5), randomMatrix(1, 3, 6).data),
    ],
    { inputShape: [1, 5, 5] },
  );
  const twoChannel = new Sequential(
    [
      new TestConv2d(2, 3, 2, { seed: 7 }),
      testTanh(),
      testFlatten(),
      Linear.fromParameters(randomMatrix(2, 3 * 2 * 2, 8), randomMatrix(1, 2, 9).data),
    ],
    { inputShape: [2, 3, 3] },
  );
  return [
    { name: 'relu + max pooling', model: reluMax, outputs: 3 },
    {
      name: 'tanh + strided conv without bias + overlapping average pooling',
      model: tanhStrided,
      outputs: 3,
    },
    { name: 'two-channel regression', model: twoChannel, outputs: 2 },
  ];
}

function randomMatrix(rows: number, cols: number, seed: number): Tensor {
  const rng = seededRng(seed);
  return new Tensor(
    new Float64Array(rows * cols).map(() => rng.normal() * 0.5),
    [rows, cols],
  );
}

/** A residual block h(x) = inner(x) + shortcut(x) (identity shortcut when null). */
export class TestResidual implements Layer {
  readonly type = 'residual';
  constructor(
    readonly inner: Layer[],
    readonly shortcut: Layer[] | null = null,
  ) {}
  private all(): Layer[] {
    return [...this.inner, ...(this.shortcut ?? [])];
  }
  parameters(): Tensor[] {
    return this.all().flatMap((l) => l.parameters());
  }
  setParameters(params: readonly Tensor[]): void {
    let i = 0;
    for (const l of this.all()) {
      const count = l.parameters().length;
      l.setParameters(params.slice(i, i + count));
      i += count;
    }
  }
  outputShape(shape: Shape): Shape {
    return this.inner.reduce((s, l) => l.outputShape(s), shape);
  }
  apply(params: readonly Tensor[], x: Tensor): Tensor {
    let i = 0;
    const run = (layers: Layer[]) =>
      layers.reduce((h, l) => {
        const count = l.parameters().length;
        const out = l.apply(params.slice(i, i + count), h);
        i += count;
        return out;
      }, x);
    const a = run(this.inner);
    const b = this.shortcut ? run(this.shortcut) : x;
    return add(a, b);
  }
  toJSON(): LayerJSON {
    return { type: this.type };
  }
}

/** A small residual CNN: conv stem, a residual block with a 1×1 conv shortcut, an identity block, a head. */
export function residualCnn(): Sequential {
  return new Sequential(
    [
      new TestConv2d(1, 2, 3, { padding: 1, seed: 11 }),
      testTanh(),
      new TestResidual(
        [new TestConv2d(2, 3, 3, { padding: 1, seed: 12 }), testTanh()],
        [new TestConv2d(2, 3, 1, { bias: false, seed: 13 })],
      ),
      new TestResidual([testTanh(), new TestConv2d(3, 3, 3, { padding: 1, seed: 14 })]),
      testAvgPool(2, 2),
      testFlatten(),
      Linear.fromParameters(randomMatrix(2, 3 * 2 * 2, 15), randomMatrix(1, 2, 16).data),
    ],
    { inputShape: [1, 4, 4] },
  );
}
