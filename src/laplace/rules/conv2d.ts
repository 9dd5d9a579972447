/**
 * Convolutions, y = w ⋆ x + b (PyTorch's Conv2d, NCHW).
 *
 * A convolution is a Linear layer applied at every output position p to the
 * receptive field there: unfold example n into the patch matrix X̂ₙ
 * [C/G·kh·kw × L] (L = H'·W' positions, per group G), and yₙ = W X̂ₙ + b.
 * Its Jacobian row for the cotangent Gᵣ [O × L] at the output is therefore
 *
 *     ∂/∂W = Gᵣ X̂ₙᵀ  (a sum of L outer products),     ∂/∂b = Gᵣ 1,
 *
 * one gemm per example for all m rows at once. Unlike Linear's, these rows
 * do not factor into one outer product, so they are formed (direct slots).
 * KFLR's factors are BackPACK's: A = Σₙ X̂ₙ X̂ₙᵀ (summed over positions) and
 * B = Σₙᵣ (Gᵣ 1)(Gᵣ 1)ᵀ, the rows of the bias's Jacobian; the weight block is
 * B ⊗ A in the order [out][in][kh][kw] (Grosse and Martens' KFC times L).
 * Pulling back through the layer is the transposed convolution.
 *
 * When the cotangents reach the output through a gather (max pooling, an
 * activation: rule.ts), each example's cotangents are scattered from the Q
 * outputs above through it (G = Gₐᵀ Gᵤ) just before its gemm, so the batch's
 * cotangents at the L positions are never formed.
 */
import { conv2dRaw, conv2dTranspose, convGeometry } from '../../autodiff/primitives/conv.js';
import { ValueError } from '../../errors.js';
import { mirrorLower } from '../../kernels/blas.js';
import { type ConvGeometry, im2colImages } from '../../kernels/conv.js';
import { gemm, mat, syrk, tr } from '../../kernels/view.js';
import type { Layer } from '../../nn/module.js';
import { Tensor } from '../../tensor.js';
import { gatheredSum, type LayerRule } from './rule.js';

/** What this rule reads of a Conv2d layer (src/nn/conv2d.ts). */
export interface Conv2dLike extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

function geometry(layer: Conv2dLike, x: Tensor): ConvGeometry {
  const [, channels, height, width] = x.shape as [number, number, number, number];
  const [kernelH, kernelW] = layer.kernelSize;
  return convGeometry(channels, height, width, kernelH, kernelW, layer);
}

function convOptions(layer: Conv2dLike) {
  return { stride: layer.stride, padding: layer.padding, dilation: layer.dilation, groups: layer.groups };
}

/** Numbers per row of the weight's Jacobian for one output channel: C/G·kh·kw. */
function depthOf(layer: Conv2dLike): number {
  return (layer.inChannels / layer.groups) * layer.kernelSize[0] * layer.kernelSize[1];
}

/**
 * The weight's rows ∂/∂W = Gᵣ X̂ₙᵀ of every example n in turn, [m·O × depth],
 * written into `rows` from n·stride; `visit(n)` after each. Example n's
 * cotangents [m·O × L] are read from `cotangentOf(n)`, a buffer and offset,
 * called once per example in order (so it may form them there).
 */
function formWeightRows(
  layer: Conv2dLike,
  x: Tensor,
  m: number,
  rows: Float64Array,
  stride: number,
  cotangentOf: (e: number) => readonly [Float64Array, number],
  visit?: (e: number) => void,
): void {
  const geo = geometry(layer, x);
  const n = x.shape[0]!;
  const { outChannels: out, groups } = layer;
  const perGroup = out / groups;
  const depth = depthOf(layer);
  const positions = geo.outH * geo.outW;
  const imageSize = geo.channels * geo.height * geo.width;
  // Images are unfolded a chunk at a time, side by side (about 256k numbers).
  const chunk = Math.max(1, Math.min(n, Math.floor(262_144 / (groups * depth * positions))));
  const patches = new Float64Array(groups * depth * chunk * positions);
  // Without groups an example's m cotangents are one matrix [m·O × L], so one
  // gemm per example forms all its rows; with groups, one per row and group.
  const together = groups === 1 ? m : 1;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const ld = count * positions;
    im2colImages(count, x.data, start * imageSize, geo, patches, 0, ld);
    for (let e = start; e < start + count; e++) {
      const [g, at] = cotangentOf(e);
      for (let r = 0; r < m; r += together) {
        for (let group = 0; group < groups; group++) {
          // ∂/∂W_g = G_g X̂_gᵀ: [O/G × L]·[L × depth].
          gemm(
            mat(rows, together * perGroup, depth, e * stride + (r * out + group * perGroup) * depth),
            1,
            mat(g, together * perGroup, positions, at + (r * out + group * perGroup) * positions),
            tr(mat(patches, depth, positions, group * depth * ld + (e - start) * positions, ld)),
          );
        }
      }
      visit?.(e);
    }
  }
}

/** Example e's cotangents within a batch of them, [n·m, O, ...]. */
function exampleOf(cotangent: Tensor, n: number) {
  const perExample = cotangent.size / n;
  return (e: number) => [cotangent.data, e * perExample] as const;
}

/** Σ over the batch's rows of the weight's rows squared, [O·depth]; one example's rows at a time. */
function weightRowSquares(
  layer: Conv2dLike,
  x: Tensor,
  m: number,
  cotangentOf: (e: number) => readonly [Float64Array, number],
): Float64Array {
  const width = layer.outChannels * depthOf(layer);
  const rows = new Float64Array(m * width);
  const squares = new Float64Array(width);
  formWeightRows(layer, x, m, rows, 0, cotangentOf, () => {
    for (let r = 0; r < m; r++) for (let i = 0; i < width; i++) squares[i]! += rows[r * width + i]! ** 2;
  });
  return squares;
}

/** The rows of the bias's Jacobian: Gᵣ 1, each cotangent summed over positions, [n·m × O]. */
function biasRowsOf(layer: Conv2dLike, cotangent: Tensor): Float64Array {
  const rows = cotangent.shape[0]! * layer.outChannels;
  const positions = cotangent.size / rows;
  const g = cotangent.data;
  const summed = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let p = 0; p < positions; p++) s += g[i * positions + p]!;
    summed[i] = s;
  }
  return summed;
}

export const conv2dRule: LayerRule<Conv2dLike> = {
  name: 'conv2d',
  blocks(layer) {
    const weight = {
      slot: 0,
      structure: 'direct',
      part: 'weight',
      rows: layer.outChannels,
      cols: depthOf(layer),
    } as const;
    if (layer.parameters().length === 1) return [weight];
    return [weight, { slot: 1, structure: 'direct', part: 'bias', rows: layer.outChannels, cols: 1 }];
  },
  forward: (layer, params, x) => layer.apply(params, x),
  pullback(layer, [weight], x, cotangent) {
    return conv2dTranspose(cotangent, weight!, convOptions(layer), [x.shape[2]!, x.shape[3]!]);
  },
  pushforwardByChannel(layer, [weight], _x, tangent) {
    // Input channel c alone moves the output by w[:, c] ⋆ x_c: a convolution in
    // C groups of one input channel each, whose group c has the O filters
    // w[o, c] (zero for o outside c's group).
    const { inChannels: channels, outChannels: out, groups } = layer;
    const [kernelH, kernelW] = layer.kernelSize;
    const taps = kernelH * kernelW;
    const perGroup = channels / groups;
    const w = weight!.data;
    const split = new Float64Array(channels * out * taps);
    for (let c = 0; c < channels; c++) {
      const group = Math.floor(c / perGroup);
      for (let o = group * (out / groups); o < (group + 1) * (out / groups); o++) {
        const from = (o * perGroup + (c % perGroup)) * taps;
        split.set(w.subarray(from, from + taps), (c * out + o) * taps);
      }
    }
    const options = { ...convOptions(layer), groups: channels };
    const y = conv2dRaw(tangent, new Tensor(split, [channels * out, 1, kernelH, kernelW]), options);
    const [n, , height, width] = y.shape as [number, number, number, number];
    return new Tensor(y.data, [n * channels, out, height, width]);
  },
  slots(layer, params, x, cotangent, m) {
    const out = layer.outChannels;
    const width = out * depthOf(layer);
    const weightRows = new Float64Array(cotangent.shape[0]! * width);
    formWeightRows(layer, x, m, weightRows, m * width, exampleOf(cotangent, x.shape[0]!));
    const weightSlot = { a: null, g: weightRows, width };
    if (params.length === 1) return [weightSlot];
    return [weightSlot, { a: null, g: biasRowsOf(layer, cotangent), width: out }];
  },
  rowSquares(layer, params, x, cotangent, m) {
    const weight = weightRowSquares(layer, x, m, exampleOf(cotangent, x.shape[0]!));
    if (params.length === 1) return [weight];
    const u = biasRowsOf(layer, cotangent);
    const bias = new Float64Array(layer.outChannels);
    for (let i = 0; i < u.length; i++) bias[i % bias.length]! += u[i]! ** 2;
    return [weight, bias];
  },
  rowSquaresGathered(layer, params, x, cotangent, gather, m) {
    const { outChannels: out } = layer;
    const { outH, outW } = geometry(layer, x);
    const positions = outH * outW;
    const above = gather.outPlane;
    const g = cotangent.data;
    const scattered = new Float64Array(m * out * positions);
    const bias = new Float64Array(out);
    // Example e's cotangents here, Gₐᵀ Gᵤ, and its bias rows Gᵣ 1 squared on the way.
    const scatter = (e: number) => {
      scattered.fill(0);
      for (let r = 0; r < m; r++) {
        for (let o = 0; o < out; o++) {
          const plane = (e * out + o) * above;
          const from = ((e * m + r) * out + o) * above;
          const to = (r * out + o) * positions;
          for (let q = 0; q < above; q++) {
            const p = gather.index[plane + q]!;
            if (p >= 0) scattered[to + p]! += gather.weight[plane + q]! * g[from + q]!;
          }
          bias[o]! += gatheredSum(gather, plane, g, from) ** 2;
        }
      }
      return [scattered, 0] as const;
    };
    const weight = weightRowSquares(layer, x, m, scatter);
    return params.length === 1 ? [weight] : [weight, bias];
  },
  kronecker: {
    inputSums(layer, x) {
      if (layer.groups !== 1) {
        throw new ValueError(
          `KronLaplace: Conv2d with groups = ${layer.groups} has no Kronecker factors; use hessianStructure 'full', 'diag' or 'lowrank'`,
        );
      }
      const geo = geometry(layer, x);
      const n = x.shape[0]!;
      const depth = depthOf(layer);
      const positions = geo.outH * geo.outW;
      const imageSize = geo.channels * geo.height * geo.width;
      const a = new Float64Array(depth * depth);
      // A += [X̂ₙ …] [X̂ₙ …]ᵀ for a chunk of images unfolded side by side (about 256k numbers).
      const chunk = Math.max(1, Math.min(n, Math.floor(262_144 / (depth * positions))));
      const patches = new Float64Array(depth * chunk * positions);
      for (let start = 0; start < n; start += chunk) {
        const count = Math.min(chunk, n - start);
        const ld = count * positions;
        im2colImages(count, x.data, start * imageSize, geo, patches, 0, ld);
        // On the lower triangle (A is symmetric), mirrored once at the end.
        syrk(mat(a, depth, depth), 1, mat(patches, depth, ld), 1);
      }
      mirrorLower(depth, a, 0, depth);
      return a;
    },
    biasRows: biasRowsOf,
  },
};
