/**
 * Two-dimensional convolution and its two adjoints, closed under differentiation.
 *
 * With PyTorch's convolution y = conv(x, w) (x [N, C, H, W], w [O, C/G, kh, kw],
 * y [N, O, H', W'], stride, padding, dilation, G groups; see kernels/conv.ts),
 * the trilinear form
 *
 *   T(x, w, g) = ⟨conv(x, w), g⟩ = ⟨x, convᵀ(g, w)⟩ = ⟨w, ∇w(x, g)⟩
 *
 * defines three bilinear primitives, each the partial derivative of T with
 * respect to one argument:
 *
 *   conv2d(x, w)                 → [N, O, H', W']   ∂T/∂g
 *   conv2dTranspose(g, w)        → [N, C, H, W]     ∂T/∂x, the input gradient
 *   conv2dWeightGrad(x, g)       → [O, C/G, kh, kw] ∂T/∂w, the weight gradient
 *
 * Every rule is another of the three. Being bilinear, each has the tangent
 * f(ẋ, w) + f(x, ẇ); its cotangents are the partials of T with the cotangent
 * in place of the output's slot:
 *
 *   conv2d:           x̄ = convᵀ(ȳ, w)          w̄ = ∇w(x, ȳ)
 *   conv2dTranspose:  ḡ = conv(x̄′, w)          w̄ = ∇w(x̄′, g)
 *   conv2dWeightGrad: x̄ = convᵀ(g, w̄′)         ḡ = conv(x, w̄′)
 *
 * so gradients of gradients stay within these three kernels. The transpose
 * carries the input's spatial size (several sizes convolve to the same H'),
 * the weight gradient the kernel's.
 *
 * Under vmap, a batched image stack (or output cotangent) alone folds into the
 * example axis N: [B, N, …] is [B·N, …]. When the weight (or, for the weight
 * gradient, anything) is batched, member b becomes G more groups: images
 * [B, N, C, H, W] are read as [N, B·C, H, W], weights [B, O, C/G, kh, kw] as
 * [B·O, C/G, kh, kw], and one convolution in B·G groups computes every member,
 * [N, B·O, H', W'] → [B, N, O, H', W']. An unbatched partner is broadcast first.
 */
import { ShapeError } from '../../errors.js';
import {
  type ConvGeometry,
  conv2dKernel,
  conv2dTransposeKernel,
  conv2dWeightGradKernel,
  convOutputSize,
} from '../../kernels/conv.js';
import { type Shape, shapeString, sizeOf, Tensor } from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import { add, broadcastTo, reshape, sum, transpose } from '../ops.js';
import { addTangents } from './elementwise.js';

export interface Conv2dParams {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

interface Conv2dTransposeParams extends Conv2dParams {
  /** [H, W] of the convolution's input, which this map produces. */
  readonly inputSize: readonly [number, number];
}

interface Conv2dWeightGradParams extends Conv2dParams {
  /** [kh, kw] of the weight, which this map produces. */
  readonly kernelSize: readonly [number, number];
}

/** The convolution's own options, without a transpose's or weight gradient's extra size. */
function options(p: Conv2dParams): Conv2dParams {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}

/** y = conv(x, w) (+ bias per output channel): x [N, C, H, W], w [O, C/G, kh, kw], bias [O]. */
export function conv2dRaw(x: Tensor, w: Tensor, params: Conv2dParams, bias?: Tensor): Tensor {
  return bind(conv2dP, bias === undefined ? [x, w] : [x, w, bias], params);
}

/** The input gradient convᵀ(g, w) for images of spatial size `inputSize`. */
export function conv2dTranspose(
  g: Tensor,
  w: Tensor,
  params: Conv2dParams,
  inputSize: readonly [number, number],
): Tensor {
  return bind(conv2dTransposeP, [g, w], { ...options(params), inputSize });
}

/** The weight gradient ∇w(x, g) = Σₙ Ȳₙ·X̂ₙᵀ for a kernel of size `kernelSize`. */
function conv2dWeightGrad(
  x: Tensor,
  g: Tensor,
  params: Conv2dParams,
  kernelSize: readonly [number, number],
): Tensor {
  return bind(conv2dWeightGradP, [x, g], { ...options(params), kernelSize });
}

/** The kernels' sizes of one convolution of images [channels, height, width]. */
export function convGeometry(
  channels: number,
  height: number,
  width: number,
  kernelH: number,
  kernelW: number,
  p: Conv2dParams,
): ConvGeometry {
  return {
    channels,
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

function describe(p: Conv2dParams): string {
  return `stride [${p.stride.join(', ')}], padding [${p.padding.join(', ')}], dilation [${p.dilation.join(', ')}], groups ${p.groups}`;
}

/** Shared checks: rank 4, channels divisible by the groups, a non-empty output. */
function checkRank(name: string, what: string, shape: Shape): void {
  if (shape.length !== 4)
    throw new ShapeError(`${name}: ${what} must have 4 axes, got ${shapeString(shape)}`);
}

function checkGroups(name: string, what: string, count: number, groups: number): void {
  if (count % groups !== 0) {
    throw new ShapeError(`${name}: ${what} (${count}) is not divisible by groups (${groups})`);
  }
}

function checkOutput(name: string, geo: ConvGeometry, p: Conv2dParams): void {
  if (geo.outH < 1 || geo.outW < 1) {
    throw new ShapeError(
      `${name}: input ${geo.height}×${geo.width} is smaller than the kernel ${geo.kernelH}×${geo.kernelW} with ${describe(p)} (output ${geo.outH}×${geo.outW})`,
    );
  }
}

/** The convolution, with an optional third input: a bias [O] added per output channel. */
export const conv2dP: Primitive<Conv2dParams> = {
  name: 'conv2d',
  shape([x, w, b], p) {
    checkRank('conv2d', 'input', x!);
    checkRank('conv2d', 'weight', w!);
    if (b !== undefined && (b.length !== 1 || b[0] !== w![0])) {
      throw new ShapeError(
        `conv2d: bias is ${shapeString(b)}, expected [${w![0]}] for weight ${shapeString(w!)}`,
      );
    }
    const [n, c, h, wd] = x! as [number, number, number, number];
    const [o, cg, kh, kw] = w! as [number, number, number, number];
    checkGroups('conv2d', 'output channels of the weight', o, p.groups);
    if (cg * p.groups !== c) {
      throw new ShapeError(
        `conv2d: weight ${shapeString(w!)} in ${p.groups} group(s) expects ${cg * p.groups} input channels, input is ${shapeString(x!)}`,
      );
    }
    const geo = convGeometry(c, h, wd, kh, kw, p);
    checkOutput('conv2d', geo, p);
    return [n, o, geo.outH, geo.outW];
  },
  impl([x, w, b], p, shape) {
    const [n, c, h, wd] = x!.shape as [number, number, number, number];
    const [o, , kh, kw] = w!.shape as [number, number, number, number];
    const out = new Float64Array(sizeOf(shape));
    const geo = convGeometry(c, h, wd, kh, kw, p);
    conv2dKernel(n, o, p.groups, geo, x!.data, w!.data, b === undefined ? null : b.data, out);
    return new Tensor(out, shape);
  },
  // The bias enters as b[o] on every position of channel o: its tangent broadcasts
  // from [1, O, 1, 1], its cotangent sums over examples and positions.
  jvp: ([x, w, b], [dx, dw, db], _y, p) =>
    addTangents(
      addTangents(dx ? conv2dRaw(dx, w!, p) : null, dw ? conv2dRaw(x!, dw, p) : null),
      db ? reshape(db, [1, b!.shape[0]!, 1, 1]) : null,
    ),
  vjp: (ct, [x, w, b], _y, p, [wantX, wantW, wantB]) => {
    const cts = [
      wantX ? conv2dTranspose(ct, w!, p, [x!.shape[2]!, x!.shape[3]!]) : null,
      wantW ? conv2dWeightGrad(x!, ct, p, [w!.shape[2]!, w!.shape[3]!]) : null,
    ];
    if (b !== undefined) cts.push(wantB ? sum(ct, [0, 2, 3]) : null);
    return cts;
  },
  batch([x, w, b], [bx, bw, bb], size, p) {
    if (!bw && !bb) return unfoldExamples(conv2dRaw(foldExamples(x!), w!, p, b), size);
    let y: Tensor;
    if (!bw) y = bx ? unfoldExamples(conv2dRaw(foldExamples(x!), w!, p), size) : conv2dRaw(x!, w!, p);
    else if (!bx && p.groups === 1) {
      // One convolution with B·O output channels, then the members' blocks moved to the front.
      y = splitMembers(conv2dRaw(x!, foldMembers(w!), p), size);
    } else {
      const xs = bx ? x! : broadcastTo(x!, [size, ...x!.shape]);
      const grouped = { ...options(p), groups: size * p.groups };
      y = splitMembers(conv2dRaw(mergeIntoChannels(xs), foldMembers(w!), grouped), size);
    }
    if (b === undefined) return y;
    // y is [B, N, O, H', W'] (or [N, O, H', W'] when only the bias is batched);
    // the bias [O] or [B, O] lines up with axes 0 and 2 by broadcasting.
    return add(y, bb ? reshape(b, [size, 1, b.shape[1]!, 1, 1]) : reshape(b, [b.shape[0]!, 1, 1]));
  },
};

export const conv2dTransposeP: Primitive<Conv2dTransposeParams> = {
  name: 'conv2dTranspose',
  shape([g, w], p) {
    checkRank('conv2dTranspose', 'cotangent', g!);
    checkRank('conv2dTranspose', 'weight', w!);
    const [n, o, oh, ow] = g! as [number, number, number, number];
    const [o2, cg, kh, kw] = w! as [number, number, number, number];
    checkGroups('conv2dTranspose', 'output channels of the weight', o2, p.groups);
    if (o !== o2) {
      throw new ShapeError(
        `conv2dTranspose: cotangent ${shapeString(g!)} has ${o} channels, weight ${shapeString(w!)} has ${o2} output channels`,
      );
    }
    const geo = convGeometry(cg * p.groups, p.inputSize[0], p.inputSize[1], kh, kw, p);
    checkOutput('conv2dTranspose', geo, p);
    if (geo.outH !== oh || geo.outW !== ow) {
      throw new ShapeError(
        `conv2dTranspose: cotangent ${shapeString(g!)} is not the output size of a ${p.inputSize[0]}×${p.inputSize[1]} input (${geo.outH}×${geo.outW}) with ${describe(p)}`,
      );
    }
    return [n, cg * p.groups, p.inputSize[0], p.inputSize[1]];
  },
  impl([g, w], p, shape) {
    const [n, o] = g!.shape as [number, number];
    const [, cg, kh, kw] = w!.shape as [number, number, number, number];
    const out = new Float64Array(sizeOf(shape));
    const geo = convGeometry(cg * p.groups, p.inputSize[0], p.inputSize[1], kh, kw, p);
    conv2dTransposeKernel(n, o, p.groups, geo, g!.data, w!.data, out);
    return new Tensor(out, shape);
  },
  jvp: ([g, w], [dg, dw], _y, p) =>
    addTangents(
      dg ? conv2dTranspose(dg, w!, p, p.inputSize) : null,
      dw ? conv2dTranspose(g!, dw, p, p.inputSize) : null,
    ),
  vjp: (ct, [g, w], _y, p, [wantG, wantW]) => [
    wantG ? conv2dRaw(ct, w!, options(p)) : null,
    wantW ? conv2dWeightGrad(ct, g!, p, [w!.shape[2]!, w!.shape[3]!]) : null,
  ],
  batch([g, w], [bg, bw], size, p) {
    if (!bw) return unfoldExamples(conv2dTranspose(foldExamples(g!), w!, p, p.inputSize), size);
    const gs = bg ? g! : broadcastTo(g!, [size, ...g!.shape]);
    const grouped = { ...options(p), groups: size * p.groups };
    return splitMembers(conv2dTranspose(mergeIntoChannels(gs), foldMembers(w!), grouped, p.inputSize), size);
  },
};

export const conv2dWeightGradP: Primitive<Conv2dWeightGradParams> = {
  name: 'conv2dWeightGrad',
  shape([x, g], p) {
    checkRank('conv2dWeightGrad', 'input', x!);
    checkRank('conv2dWeightGrad', 'cotangent', g!);
    const [n, c, h, wd] = x! as [number, number, number, number];
    const [n2, o, oh, ow] = g! as [number, number, number, number];
    checkGroups('conv2dWeightGrad', 'input channels', c, p.groups);
    checkGroups('conv2dWeightGrad', 'cotangent channels', o, p.groups);
    const geo = convGeometry(c, h, wd, p.kernelSize[0], p.kernelSize[1], p);
    checkOutput('conv2dWeightGrad', geo, p);
    if (n !== n2 || geo.outH !== oh || geo.outW !== ow) {
      throw new ShapeError(
        `conv2dWeightGrad: cotangent ${shapeString(g!)} does not match the output of input ${shapeString(x!)} with a ${p.kernelSize[0]}×${p.kernelSize[1]} kernel and ${describe(p)}`,
      );
    }
    return [o, c / p.groups, p.kernelSize[0], p.kernelSize[1]];
  },
  impl([x, g], p, shape) {
    const [n, c, h, wd] = x!.shape as [number, number, number, number];
    const o = g!.shape[1]!;
    const out = new Float64Array(sizeOf(shape));
    const geo = convGeometry(c, h, wd, p.kernelSize[0], p.kernelSize[1], p);
    conv2dWeightGradKernel(n, o, p.groups, geo, x!.data, g!.data, out);
    return new Tensor(out, shape);
  },
  jvp: ([x, g], [dx, dg], _y, p) =>
    addTangents(
      dx ? conv2dWeightGrad(dx, g!, p, p.kernelSize) : null,
      dg ? conv2dWeightGrad(x!, dg, p, p.kernelSize) : null,
    ),
  vjp: (ct, [x, g], _y, p, [wantX, wantG]) => [
    wantX ? conv2dTranspose(g!, ct, p, [x!.shape[2]!, x!.shape[3]!]) : null,
    wantG ? conv2dRaw(x!, ct, options(p)) : null,
  ],
  batch([x, g], [bx, bg], size, p) {
    // The weight gradient sums over examples, so members cannot share N: each is its own groups.
    const xs = bx ? x! : broadcastTo(x!, [size, ...x!.shape]);
    const gs = bg ? g! : broadcastTo(g!, [size, ...g!.shape]);
    const grouped = { ...options(p), groups: size * p.groups };
    const dw = conv2dWeightGrad(mergeIntoChannels(xs), mergeIntoChannels(gs), grouped, p.kernelSize);
    return reshape(dw, [size, dw.shape[0]! / size, ...dw.shape.slice(1)]);
  },
};

/** [B, N, …] → [B·N, …]: members of a vmap as more examples. */
function foldExamples(t: Tensor): Tensor {
  return reshape(t, [t.shape[0]! * t.shape[1]!, ...t.shape.slice(2)]);
}

/** [B·N, …] → [B, N, …]. */
function unfoldExamples(t: Tensor, size: number): Tensor {
  return reshape(t, [size, t.shape[0]! / size, ...t.shape.slice(1)]);
}

/** Weights [B, O, C/G, kh, kw] → [B·O, C/G, kh, kw]: members of a vmap as more output channels. */
function foldMembers(w: Tensor): Tensor {
  return reshape(w, [w.shape[0]! * w.shape[1]!, ...w.shape.slice(2)]);
}

/** Images [B, N, C, H, W] → [N, B·C, H, W]: member b's channels are groups b·G … b·G + G − 1. */
function mergeIntoChannels(t: Tensor): Tensor {
  const [b, n, c, h, w] = t.shape as [number, number, number, number, number];
  return reshape(transpose(t, [1, 0, 2, 3, 4]), [n, b * c, h, w]);
}

/** [N, B·C, H, W] → [B, N, C, H, W]. */
function splitMembers(t: Tensor, size: number): Tensor {
  const [n, bc, h, w] = t.shape as [number, number, number, number];
  return transpose(reshape(t, [n, size, bc / size, h, w]), [1, 0, 2, 3, 4]);
}

export const convPrimitives: readonly Primitive[] = [conv2dP, conv2dTransposeP, conv2dWeightGradP];
