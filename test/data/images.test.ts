import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  digitsAsImages,
  padImages,
  resizeBilinear,
  rotateImages,
  selectImages,
  stratifiedIndices,
} from '../../src/data/images.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { expectClose } from '../helpers.js';

type Shape4 = [number, number, number, number];

/** Pixel values, with −0 (which interpolation may return as +0) read as 0. */
const fromValues = (values: number[]) => Float64Array.from(values, (v) => v + 0);

/** A batch [N, C, H, W] with values in [−1, 1]. */
const batches = (maxSide = 7) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: maxSide }),
      fc.integer({ min: 1, max: maxSide }),
    )
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape as Shape4),
        images: fc
          .array(fc.double({ min: -1, max: 1, noNaN: true }), {
            minLength: shape[0] * shape[1] * shape[2] * shape[3],
            maxLength: shape[0] * shape[1] * shape[2] * shape[3],
          })
          .map(fromValues),
      }),
    );

const squareBatches = fc.integer({ min: 1, max: 7 }).chain((side) =>
  fc.record({
    shape: fc.constant([2, 1, side, side] as Shape4),
    images: fc
      .array(fc.double({ min: -1, max: 1, noNaN: true }), {
        minLength: 2 * side * side,
        maxLength: 2 * side * side,
      })
      .map(fromValues),
  }),
);

/** The image f(i, j) = a + b·i + c·j + d·i·j on an h×w grid, which bilinear interpolation reproduces exactly. */
function bilinearImage(h: number, w: number, [a, b, c, d]: number[]): Float64Array {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[i * w + j] = a! + b! * i + c! * j + d! * i * j;
  return out;
}

const coefficients = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 });

describe('resizeBilinear', () => {
  it('matches PyTorch interpolate(align_corners=False) on a 2×2 image resized to 4×4', () => {
    // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
    const { images, shape } = resizeBilinear([0, 1, 2, 3], [1, 1, 2, 2], 4, 4);
    expect(shape).toEqual([1, 1, 4, 4]);
    expectClose(images, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  test.prop([
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 30 }),
    fc.integer({ min: 1, max: 30 }),
    coefficients,
  ])(
    'reproduces a bilinear function at each output pixel centre (clamped to the grid)',
    (h, w, outH, outW, coef) => {
      const { images } = resizeBilinear(bilinearImage(h, w, coef), [1, 1, h, w], outH, outW);
      const clamp = (s: number, n: number) => Math.min(Math.max(s, 0), n - 1);
      const expected = new Float64Array(outH * outW);
      for (let i = 0; i < outH; i++) {
        for (let j = 0; j < outW; j++) {
          const r = clamp(((i + 0.5) * h) / outH - 0.5, h);
          const c = clamp(((j + 0.5) * w) / outW - 0.5, w);
          expected[i * outW + j] = coef[0]! + coef[1]! * r + coef[2]! * c + coef[3]! * r * c;
        }
      }
      expectClose(images, expected, { rtol: 1e-12, atol: 1e-12 });
    },
  );

  test.prop([
    batches(),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 12 }),
    fc.double({ min: -5, max: 5, noNaN: true }),
  ])('keeps a constant image constant', ({ shape }, outH, outW, value) => {
    const size = shape[0] * shape[1] * shape[2] * shape[3];
    const { images } = resizeBilinear(new Float64Array(size).fill(value), shape, outH, outW);
    expectClose(images, new Float64Array(shape[0] * shape[1] * outH * outW).fill(value), { atol: 1e-12 });
  });

  test.prop([batches()])('is the identity at the same size', ({ images, shape }) => {
    expect(resizeBilinear(images, shape, shape[2], shape[3]).images).toEqual(images);
  });

  test.prop([batches(4)])('halving an even size averages 2×2 blocks', ({ shape }) => {
    const [n, c, h, w] = shape;
    const big: Shape4 = [n, c, 2 * h, 2 * w];
    const images = Float64Array.from({ length: n * c * 4 * h * w }, (_, k) => Math.sin(k * 1.7));
    const expected = new Float64Array(n * c * h * w);
    for (let p = 0; p < n * c; p++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const at = (r: number, col: number) => images[(p * 2 * h + r) * 2 * w + col]!;
          expected[(p * h + i) * w + j] =
            (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
        }
      }
    }
    expectClose(resizeBilinear(images, big, h, w).images, expected, { atol: 1e-14 });
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => resizeBilinear([1, 2, 3], [1, 1, 2, 2], 4, 4)).toThrow(ShapeError);
    expect(() => resizeBilinear([1, 2, 3, 4], [1, 1, 2, 2], 0, 4)).toThrow(
      /outHeight must be a positive integer/,
    );
  });
});

describe('padImages', () => {
  test.prop([batches(), fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)])(
    'puts the image at (top, left) and the fill value everywhere else',
    ({ images, shape }, top, bottom, left, right) => {
      const padded = padImages(images, shape, { top, bottom, left, right }, 9);
      const [n, c, h, w] = shape;
      const outH = h + top + bottom;
      const outW = w + left + right;
      expect(padded.shape).toEqual([n, c, outH, outW]);
      for (let p = 0; p < n * c; p++) {
        for (let i = 0; i < outH; i++) {
          for (let j = 0; j < outW; j++) {
            const inside = i >= top && i < top + h && j >= left && j < left + w;
            const expected = inside ? images[(p * h + i - top) * w + j - left] : 9;
            expect(padded.images[(p * outH + i) * outW + j]).toBe(expected);
          }
        }
      }
    },
  );
});

/** in[n][c][i][j] of a batch. */
const pixel = (images: Float64Array, [, c, h, w]: Shape4, n: number, ch: number, i: number, j: number) =>
  images[((n * c + ch) * h + i) * w + j]!;

describe('rotateImages', () => {
  test.prop([batches()])('by 0° and by 360° is the identity', ({ images, shape }) => {
    expect(rotateImages(images, shape, 0).images).toEqual(images);
    expect(rotateImages(images, shape, 360).images).toEqual(images);
  });

  test.prop([squareBatches])('by 90° is rot90: out[i][j] = in[j][W−1−i]', ({ images, shape }) => {
    const out = rotateImages(images, shape, 90).images;
    const [n, c, h, w] = shape;
    for (let k = 0; k < n; k++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++)
            expect(pixel(out, shape, k, ch, i, j)).toBe(pixel(images, shape, k, ch, j, w - 1 - i));
  });

  test.prop([batches()])('by 180° flips rows and columns, for any aspect ratio', ({ images, shape }) => {
    const out = rotateImages(images, shape, 180).images;
    const [n, c, h, w] = shape;
    for (let k = 0; k < n; k++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++)
            expect(pixel(out, shape, k, ch, i, j)).toBe(pixel(images, shape, k, ch, h - 1 - i, w - 1 - j));
  });

  test.prop([squareBatches])('four turns of 90° give the image back; −90° is 270°', ({ images, shape }) => {
    let turned: Float64Array = images;
    for (let t = 0; t < 4; t++) turned = rotateImages(turned, shape, 90).images;
    expect(turned).toEqual(images);
    expect(rotateImages(images, shape, -90).images).toEqual(rotateImages(images, shape, 270).images);
  });

  it('turns counter-clockwise as displayed (rows pointing down)', () => {
    // One lit pixel right of the centre of a 5×5 image ends up above it.
    const image = new Float64Array(25);
    image[2 * 5 + 4] = 1;
    const out = rotateImages(image, [1, 1, 5, 5], 90).images;
    expect(out[0 * 5 + 2]).toBe(1);
    expect(out.reduce((a, b) => a + b, 0)).toBe(1);
  });

  test.prop([
    fc.integer({ min: 2, max: 9 }),
    fc.integer({ min: 2, max: 9 }),
    fc.double({ min: -360, max: 360, noNaN: true }),
    coefficients,
  ])('reads a bilinear function at the rotated point, and zero far outside', (h, w, degrees, coef) => {
    const out = rotateImages(bilinearImage(h, w, coef), [1, 1, h, w], degrees).images;
    // Rotating the image by θ counter-clockwise moves the content at the source point to (i, j), so the
    // source is (i, j) turned by −θ about the centre: as a complex number x + iy with y pointing up,
    // multiplied by e^{−iθ}.
    const theta = (degrees * Math.PI) / 180;
    const cr = (h - 1) / 2;
    const cc = (w - 1) / 2;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = j - cc;
        const y = cr - i;
        const xs = x * Math.cos(-theta) - y * Math.sin(-theta);
        const ys = x * Math.sin(-theta) + y * Math.cos(-theta);
        const r = cr - ys;
        const c = cc + xs;
        const value = out[i * w + j]!;
        if (r >= 1e-9 && r <= h - 1 - 1e-9 && c >= 1e-9 && c <= w - 1 - 1e-9) {
          expect(value).toBeCloseTo(coef[0]! + coef[1]! * r + coef[2]! * c + coef[3]! * r * c, 9);
        } else if (r <= -1 || r >= h || c <= -1 || c >= w) {
          expect(value).toBe(0);
        }
      }
    }
  });

  const pairs = batches().chain((a) =>
    fc.record({
      a: fc.constant(a),
      b: fc
        .array(fc.double({ min: -1, max: 1, noNaN: true }), {
          minLength: a.images.length,
          maxLength: a.images.length,
        })
        .map((values) => ({ shape: a.shape, images: fromValues(values) })),
    }),
  );

  test.prop([pairs, fc.double({ min: -180, max: 180, noNaN: true })])(
    'is linear in the image',
    ({ a, b }, degrees) => {
      const sum = a.images.map((v, k) => 2 * v - b.images[k]!);
      const ra = rotateImages(a.images, a.shape, degrees).images;
      const rb = rotateImages(b.images, b.shape, degrees).images;
      expectClose(
        rotateImages(sum, a.shape, degrees).images,
        ra.map((v, k) => 2 * v - rb[k]!),
        { atol: 1e-12 },
      );
    },
  );

  it('rejects a non-finite angle', () => {
    expect(() => rotateImages([0], [1, 1, 1, 1], Number.NaN)).toThrow(ValueError);
  });
});

describe('digitsAsImages', () => {
  test.prop([fc.array(fc.integer({ min: 0, max: 16 }), { minLength: 1, maxLength: 3 })])(
    'puts a constant 8×8 digit into the centred 20×20 box of a 28×28 image, scaled by 1/16',
    (levels) => {
      const pixels = levels.flatMap((v) => new Array<number>(64).fill(v));
      const { images, shape } = digitsAsImages(pixels);
      expect(shape).toEqual([levels.length, 1, 28, 28]);
      levels.forEach((v, n) => {
        for (let i = 0; i < 28; i++) {
          for (let j = 0; j < 28; j++) {
            const inBox = i >= 4 && i < 24 && j >= 4 && j < 24;
            expect(images[(n * 28 + i) * 28 + j]).toBeCloseTo(inBox ? v / 16 : 0, 12);
          }
        }
      });
    },
  );

  test.prop([fc.array(fc.integer({ min: 0, max: 16 }), { minLength: 64, maxLength: 64 })])(
    'gives intensities in [0, 1] and keeps the digit left-right and up-down as it was',
    (pixels) => {
      const { images } = digitsAsImages(pixels);
      expect(images.every((v) => v >= 0 && v <= 1)).toBe(true);
      // Mirroring the digit mirrors the image: the box is centred.
      const mirrored = pixels.map((_, k) => pixels[Math.floor(k / 8) * 8 + 7 - (k % 8)]!);
      const out = digitsAsImages(mirrored).images;
      for (let i = 0; i < 28; i++)
        for (let j = 0; j < 28; j++) expect(out[i * 28 + j]).toBeCloseTo(images[i * 28 + 27 - j]!, 12);
    },
  );

  it('rejects values outside [0, 16] and a ragged count', () => {
    expect(() => digitsAsImages(new Array(64).fill(17))).toThrow(
      /value 0 \(digit 0\) is 17, outside \[0, 16\]/,
    );
    expect(() => digitsAsImages(new Array(63).fill(0))).toThrow(ShapeError);
  });
});

describe('stratifiedIndices', () => {
  const labels = Array.from({ length: 100 }, (_, i) => (i * 7) % 4);

  test.prop([fc.integer({ min: 0, max: 25 }), fc.integer()])(
    'takes exactly perClass distinct indices of each class, sorted, the same for the same seed',
    (perClass, seed) => {
      const chosen = stratifiedIndices(labels, perClass, seed);
      expect(chosen).toEqual([...new Set(chosen)].sort((a, b) => a - b));
      for (let k = 0; k < 4; k++) expect(chosen.filter((i) => labels[i] === k)).toHaveLength(perClass);
      expect(stratifiedIndices(labels, perClass, seed)).toEqual(chosen);
    },
  );

  it('draws every member of a class equally often', () => {
    // Ten members, three drawn: each is chosen with probability 0.3, 600 ± 20.5 times in 2000 draws.
    const tens = new Array<number>(10).fill(0);
    const counts = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (const i of stratifiedIndices(tens, 3, seed)) counts[i]!++;
    for (const count of counts) expect(Math.abs(count - 600)).toBeLessThan(100);
  });

  it('names the class that has too few examples', () => {
    expect(() => stratifiedIndices([0, 0, 1], [1, 2], 0)).toThrow(
      /class 1 has 1 examples and 2 were asked for/,
    );
  });
});

describe('selectImages', () => {
  test.prop([batches()])('picks whole images in the order asked', ({ images, shape }) => {
    const [n, c, h, w] = shape;
    const size = c * h * w;
    const order = Array.from({ length: n }, (_, k) => n - 1 - k).concat([0]);
    const picked = selectImages(images, shape, order);
    expect(picked.shape).toEqual([n + 1, c, h, w]);
    for (const [k, from] of order.entries()) {
      expect(picked.images.subarray(k * size, (k + 1) * size)).toEqual(
        images.subarray(from * size, (from + 1) * size),
      );
    }
    expect(() => selectImages(images, shape, [n])).toThrow(ValueError);
  });
});
