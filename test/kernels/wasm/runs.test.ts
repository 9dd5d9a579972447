/**
 * addRuns, the fold of a transposed convolution in WebAssembly, against the
 * loop it replaces (bit for bit, on awkward runs, pitches and offsets); then
 * the transposed convolution that folds in linear memory against the same
 * product folded in TypeScript ('js' backend): the same bits, since both add
 * the same numbers in the same order.
 */
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConvGeometry, conv2dTransposeKernel, convOutputSize } from '../../../src/kernels/conv.js';
import { activeEngine, memoryView } from '../../../src/kernels/wasm/backend.js';
import { availableBackends, backend, setBackend } from '../../../src/linalg/index.js';
import { seededRng } from '../../../src/random.js';

const initial = backend();
afterAll(() => setBackend(initial));
const simd = availableBackends().includes('wasm-simd');

/** Entries that differ, Object.is-wise. */
function differing(actual: Float64Array, expected: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) out.push(i);
  return out.slice(0, 5);
}

describe.runIf(simd)('addRuns', () => {
  test.prop([
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 0, max: 9 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.nat(5),
    fc.nat(5),
  ])(
    'adds each run of each row of each image, as the loop does, in pairs or one at a time',
    (images, rows, run, step, dstGap, srcGap, dstAt, srcAt) => {
      setBackend('wasm-simd');
      const engine = activeEngine()!;
      const dstRow = run * step + dstGap;
      const srcRow = run + srcGap;
      const dstImage = rows * dstRow + 1;
      const srcImage = rows * srcRow + 2;
      const dstSize = dstAt + images * dstImage;
      const srcSize = srcAt + images * srcImage;
      const mem = memoryView(engine.memory, 8 * (dstSize + srcSize))!;
      const rng = seededRng(images * 1000 + rows * 100 + run * 10 + step);
      const before = Float64Array.from({ length: dstSize + srcSize }, () => rng.normal());
      mem.set(before);
      const expected = before.slice();
      for (let n = 0; n < images; n++)
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < run; j++)
            expected[dstAt + n * dstImage + i * dstRow + j * step]! +=
              expected[dstSize + srcAt + n * srcImage + i * srcRow + j]!;
      // Consecutive destinations go in pairs and a single; strided ones singly.
      const [pairs, singles] = step === 1 ? [run >> 1, run & 1] : [0, run];
      // biome-ignore format: the signature's groups
      engine.kernels.addRuns(
        8 * dstAt, 8 * dstImage, 8 * dstRow, 8 * step,
        8 * (dstSize + srcAt), 8 * srcImage, 8 * srcRow,
        images, rows, pairs, singles,
      );
      expect(differing(mem.subarray(0, dstSize + srcSize), expected)).toEqual([]);
    },
  );
});

describe.runIf(simd)('the transposed convolution folded in linear memory', () => {
  // Sides of at least 8 and products of at least 40,000 multiply-adds, so
  // that the TypeScript backend takes its packed gemm, bitwise WebAssembly's;
  // groups, padding, dilation, a vertical stride; two chunks in the first two
  // cases, in the third a product of 2,304 rows (taps), which gemm cuts into
  // blocks of 2,048 rows in the middle of a channel's taps, and in the last
  // strided runs, added one at a time.
  type Case = { batch: number; channels: number; out: number; groups: number; size: number; strideW: number };
  const cases: [string, Case][] = [
    ['one group', { batch: 40, channels: 4, out: 8, groups: 1, size: 13, strideW: 1 }],
    ['two groups', { batch: 30, channels: 8, out: 16, groups: 2, size: 11, strideW: 1 }],
    ['blocks of rows', { batch: 3, channels: 256, out: 8, groups: 1, size: 5, strideW: 1 }],
    ['a stride of 2 along the width', { batch: 40, channels: 4, out: 8, groups: 1, size: 21, strideW: 2 }],
  ];
  it.each(cases)('%s: the same bits as the fold in TypeScript', (_name, c) => {
    const [kernel, stride, pad, dilation] = [
      [3, 3],
      [2, c.strideW],
      [1, 2],
      [1, 2],
    ] as const;
    const outH = convOutputSize(c.size, kernel[0], stride[0], pad[0], dilation[0]);
    const outW = convOutputSize(c.size, kernel[1], stride[1], pad[1], dilation[1]);
    const geo: ConvGeometry = {
      channels: c.channels,
      height: c.size,
      width: c.size,
      kernelH: kernel[0],
      kernelW: kernel[1],
      strideH: stride[0],
      strideW: stride[1],
      padH: pad[0],
      padW: pad[1],
      dilationH: dilation[0],
      dilationW: dilation[1],
      outH,
      outW,
    };
    const rng = seededRng(c.batch);
    const g = Float64Array.from({ length: c.batch * c.out * outH * outW }, () => rng.normal());
    const w = Float64Array.from({ length: ((c.out * c.channels) / c.groups) * 9 }, () => rng.normal());
    const run = (name: 'js' | 'wasm-simd') => {
      setBackend(name);
      const dx = new Float64Array(c.batch * c.channels * c.size * c.size).fill(Number.NaN);
      conv2dTransposeKernel(c.batch, c.out, c.groups, geo, g, w, dx);
      return dx;
    };
    expect(differing(run('wasm-simd'), run('js'))).toEqual([]);
  });
});
