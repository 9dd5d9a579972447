/**
 * Two-dimensional max and average pooling, with their adjoints as primitives.
 *
 * Each acts on the last two axes [H, W] of its input, every leading axis
 * (N, C, and under vmap the batch) being a stack of independent planes; see
 * kernels/pool.ts for the windows and PyTorch's conventions.
 *
 * Average pooling is linear, y = A x, with transpose x̄ = Aᵀ ȳ
 * (`avgPool2dTranspose`, which spreads ȳ/(kh·kw) over each window); the two
 * are each other's rules.
 *
 * Max pooling is y = x[argmax], piecewise linear: on each piece the argmax
 * indices i(x) are constant, so ẏ = ẋ[i(x)] and x̄ = scatter(ȳ at i(x)), the
 * gradient going to one position per window (the first maximum, as PyTorch)
 * and accumulating where windows overlap. Three primitives express this:
 *
 *   maxPool2dArgmax(x)          the indices, as an integer-valued tensor
 *                               of y's shape (no derivative);
 *   maxPool2dGather(t, i)       t read at i within each plane;
 *   maxPool2dScatter(g, i)      g added at i into zero planes of size H × W.
 *
 * Gather and scatter are linear in their first argument and transposes of each
 * other, so the rules close: maxPool2d's jvp is a gather, its vjp a scatter,
 * and their own rules are each other. The indices carry no derivative.
 *
 * Under vmap every primitive here applies unchanged to the stacked input: the
 * batch is one more leading axis. Gather and scatter broadcast an unbatched
 * partner first.
 */
import { ShapeError } from '../../errors.js';
import { convOutputSize } from '../../kernels/conv.js';
import {
  avgPool2dKernel,
  avgPool2dTransposeKernel,
  gatherPlanesKernel,
  maxPool2dKernel,
  type PoolGeometry,
  scatterPlanesKernel,
} from '../../kernels/pool.js';
import { type Shape, shapeString, shapesEqual, sizeOf, Tensor } from '../../tensor.js';
import { bind, isEager, type Primitive } from '../core.js';
import { broadcastTo } from '../ops.js';
import { NO_PARAMS, type NoParams } from './elementwise.js';

export interface PoolParams {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  /** Spacing of a window's taps; 1 for average pooling, which has none in PyTorch. */
  readonly dilation: readonly [number, number];
}

interface PoolTransposeParams extends PoolParams {
  /** [H, W] of the pooled planes, which the transpose produces. */
  readonly inputSize: readonly [number, number];
}

interface ScatterPlanesParams {
  /** [H, W] of the planes scattered into. */
  readonly inputSize: readonly [number, number];
}

/** The kernels' sizes of one pooling of planes [height, width]. */
export function poolGeometry(height: number, width: number, p: PoolParams): PoolGeometry {
  const [kernelH, kernelW] = p.kernelSize;
  return {
    height,
    width,
    kernelH,
    kernelW,
    strideH: p.stride[0],
    strideW: p.stride[1],
    padH: p.padding[0],
    padW: p.padding[1],
    dilationH: p.dilation[0],
    dilationW: p.dilation[1],
    outH: convOutputSize(height, kernelH, p.stride[0], p.padding[0], p.dilation[0]),
    outW: convOutputSize(width, kernelW, p.stride[1], p.padding[1], p.dilation[1]),
  };
}

function poolOptions(p: PoolParams): PoolParams {
  return { kernelSize: p.kernelSize, stride: p.stride, padding: p.padding, dilation: p.dilation };
}

/** [..., H, W] → the output shape [..., H', W'], or a ShapeError naming the primitive. */
function pooledShape(name: string, x: Shape, p: PoolParams): number[] {
  if (x.length < 2)
    throw new ShapeError(`${name}: input must have at least 2 axes [..., H, W], got ${shapeString(x)}`);
  const geo = poolGeometry(x[x.length - 2]!, x[x.length - 1]!, p);
  if (geo.outH < 1 || geo.outW < 1) {
    throw new ShapeError(
      `${name}: input ${shapeString(x)} is smaller than the ${p.kernelSize[0]}×${p.kernelSize[1]} window with stride [${p.stride.join(', ')}], padding [${p.padding.join(', ')}], dilation [${p.dilation.join(', ')}]`,
    );
  }
  return [...x.slice(0, -2), geo.outH, geo.outW];
}

/** Number of planes and the geometry of a [..., H, W] input. */
function planesOf(shape: Shape, p: PoolParams): [number, PoolGeometry] {
  const h = shape[shape.length - 2]!;
  const w = shape[shape.length - 1]!;
  return [sizeOf(shape) / (h * w) || 0, poolGeometry(h, w, p)];
}

// ---------------------------------------------------------------------------
// Max pooling

/**
 * y = maxPool2d(x). Under a transformation it is written as
 * gather(x, argmax(x)): the backward pass then scatters at the indices the
 * forward pass found instead of scanning the windows again. Evaluated directly,
 * one pass gives the maxima alone.
 */
export function maxPool2dRaw(x: Tensor, params: PoolParams): Tensor {
  if (isEager()) return bind(maxPool2dP, [x], params);
  return maxPool2dGather(x, maxPool2dArgmax(x, params));
}

/** The first-maximum positions ih·W + iw of every window, an integer-valued tensor of the output's shape. */
function maxPool2dArgmax(x: Tensor, params: PoolParams): Tensor {
  return bind(maxPool2dArgmaxP, [x], poolOptions(params));
}

/** t [..., H, W] read at indices [..., H', W'] within each plane. */
function maxPool2dGather(t: Tensor, indices: Tensor): Tensor {
  return bind(maxPool2dGatherP, [t, indices], NO_PARAMS);
}

/** Zero planes [..., H, W] with g [..., H', W'] added at indices. */
function maxPool2dScatter(g: Tensor, indices: Tensor, inputSize: readonly [number, number]): Tensor {
  return bind(maxPool2dScatterP, [g, indices], { inputSize });
}

export const maxPool2dP: Primitive<PoolParams> = {
  name: 'maxPool2d',
  shape: ([x], p) => pooledShape('maxPool2d', x!, p),
  impl([x], p, shape) {
    const [planes, geo] = planesOf(x!.shape, p);
    const out = new Float64Array(sizeOf(shape));
    maxPool2dKernel(planes, geo, x!.data, out, null);
    return new Tensor(out, shape);
  },
  jvp: ([x], [dx], _y, p) => maxPool2dGather(dx!, maxPool2dArgmax(x!, p)),
  vjp: (ct, [x], _y, p) => [
    maxPool2dScatter(ct, maxPool2dArgmax(x!, p), [x!.shape[x!.ndim - 2]!, x!.shape[x!.ndim - 1]!]),
  ],
  batch: ([x], _b, _size, p) => maxPool2dRaw(x!, p),
};

export const maxPool2dArgmaxP: Primitive<PoolParams> = {
  name: 'maxPool2dArgmax',
  nondifferentiable: true,
  shape: ([x], p) => pooledShape('maxPool2dArgmax', x!, p),
  impl([x], p, shape) {
    const [planes, geo] = planesOf(x!.shape, p);
    const indices = new Float64Array(sizeOf(shape));
    maxPool2dKernel(planes, geo, x!.data, null, indices);
    return new Tensor(indices, shape);
  },
  jvp: () => null,
  vjp: () => [null],
  batch: ([x], _b, _size, p) => maxPool2dArgmax(x!, p),
};

/** Checks that `indices` has the leading axes of `planes` and at least 2 axes. */
function checkIndices(name: string, what: string, planes: Shape, indices: Shape): void {
  if (
    planes.length < 2 ||
    indices.length !== planes.length ||
    !shapesEqual(planes.slice(0, -2), indices.slice(0, -2))
  ) {
    throw new ShapeError(
      `${name}: ${what} ${shapeString(planes)} and indices ${shapeString(indices)} need the same leading axes and 2 plane axes each`,
    );
  }
}

/** Broadcast the unbatched arguments of a two-argument batch rule to the batch. */
function bothBatched(args: readonly Tensor[], batched: readonly boolean[], size: number): Tensor[] {
  return args.map((a, i) => (batched[i] ? a : broadcastTo(a, [size, ...a.shape])));
}

export const maxPool2dGatherP: Primitive<NoParams> = {
  name: 'maxPool2dGather',
  shape([t, idx]) {
    checkIndices('maxPool2dGather', 'values', t!, idx!);
    return idx!;
  },
  impl([t, idx], _p, shape) {
    const h = t!.shape[t!.ndim - 2]!;
    const w = t!.shape[t!.ndim - 1]!;
    const outPlane = shape[shape.length - 2]! * shape[shape.length - 1]!;
    const out = new Float64Array(sizeOf(shape));
    const planes = outPlane === 0 ? 0 : out.length / outPlane;
    gatherPlanesKernel(planes, h * w, outPlane, t!.data, idx!.data, out);
    return new Tensor(out, shape);
  },
  jvp: ([, idx], [dt]) => (dt ? maxPool2dGather(dt, idx!) : null),
  vjp: (ct, [t, idx]) => [maxPool2dScatter(ct, idx!, [t!.shape[t!.ndim - 2]!, t!.shape[t!.ndim - 1]!]), null],
  batch(args, batched, size) {
    const [t, idx] = bothBatched(args, batched, size);
    return maxPool2dGather(t!, idx!);
  },
};

export const maxPool2dScatterP: Primitive<ScatterPlanesParams> = {
  name: 'maxPool2dScatter',
  shape([g, idx], { inputSize }) {
    checkIndices('maxPool2dScatter', 'updates', g!, idx!);
    if (!shapesEqual(g!, idx!)) {
      throw new ShapeError(
        `maxPool2dScatter: updates ${shapeString(g!)} and indices ${shapeString(idx!)} differ`,
      );
    }
    return [...g!.slice(0, -2), inputSize[0], inputSize[1]];
  },
  impl([g, idx], { inputSize }, shape) {
    const outPlane = g!.shape[g!.ndim - 2]! * g!.shape[g!.ndim - 1]!;
    const inPlane = inputSize[0] * inputSize[1];
    const out = new Float64Array(sizeOf(shape));
    const planes = inPlane === 0 ? 0 : out.length / inPlane;
    scatterPlanesKernel(planes, inPlane, outPlane, g!.data, 0, idx!.data, 0, out, 0);
    return new Tensor(out, shape);
  },
  jvp: ([, idx], [dg], _y, { inputSize }) => (dg ? maxPool2dScatter(dg, idx!, inputSize) : null),
  vjp: (ct, [, idx]) => [maxPool2dGather(ct, idx!), null],
  batch(args, batched, size, { inputSize }) {
    const [g, idx] = bothBatched(args, batched, size);
    return maxPool2dScatter(g!, idx!, inputSize);
  },
};

// ---------------------------------------------------------------------------
// Average pooling (padding counted as zeros, divisor kh·kw)

export function avgPool2dRaw(x: Tensor, params: PoolParams): Tensor {
  return bind(avgPool2dP, [x], params);
}

/** Aᵀg: each window's ḡ/(kh·kw) added to its taps, into planes of size `inputSize`. */
function avgPool2dTranspose(g: Tensor, params: PoolParams, inputSize: readonly [number, number]): Tensor {
  return bind(avgPool2dTransposeP, [g], { ...poolOptions(params), inputSize });
}

export const avgPool2dP: Primitive<PoolParams> = {
  name: 'avgPool2d',
  shape: ([x], p) => pooledShape('avgPool2d', x!, p),
  impl([x], p, shape) {
    const [planes, geo] = planesOf(x!.shape, p);
    const out = new Float64Array(sizeOf(shape));
    avgPool2dKernel(planes, geo, x!.data, out);
    return new Tensor(out, shape);
  },
  jvp: (_x, [dx], _y, p) => avgPool2dRaw(dx!, p),
  vjp: (ct, [x], _y, p) => [avgPool2dTranspose(ct, p, [x!.shape[x!.ndim - 2]!, x!.shape[x!.ndim - 1]!])],
  batch: ([x], _b, _size, p) => avgPool2dRaw(x!, p),
};

export const avgPool2dTransposeP: Primitive<PoolTransposeParams> = {
  name: 'avgPool2dTranspose',
  shape([g], p) {
    const expected = pooledShape('avgPool2dTranspose', [...g!.slice(0, -2), ...p.inputSize], p);
    if (g!.length < 2 || !shapesEqual(expected, g!)) {
      throw new ShapeError(
        `avgPool2dTranspose: cotangent ${shapeString(g!)} is not the pooled shape ${shapeString(expected)} of a ${p.inputSize[0]}×${p.inputSize[1]} input`,
      );
    }
    return [...g!.slice(0, -2), p.inputSize[0], p.inputSize[1]];
  },
  impl([g], p, shape) {
    const [planes, geo] = planesOf(shape, p);
    const out = new Float64Array(sizeOf(shape));
    avgPool2dTransposeKernel(planes, geo, g!.data, out);
    return new Tensor(out, shape);
  },
  jvp: (_g, [dg], _y, p) => avgPool2dTranspose(dg!, p, p.inputSize),
  vjp: (ct, _g, _y, p) => [avgPool2dRaw(ct, poolOptions(p))],
  batch: ([g], _b, _size, p) => avgPool2dTranspose(g!, p, p.inputSize),
};

export const poolPrimitives: readonly Primitive[] = [
  maxPool2dP,
  maxPool2dArgmaxP,
  maxPool2dGatherP,
  maxPool2dScatterP,
  avgPool2dP,
  avgPool2dTransposeP,
];
