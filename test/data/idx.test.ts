import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  decodeIdx,
  encodeIdx,
  gunzip,
  gzip,
  type IdxType,
  imageDataset,
  parseIdx,
  takeIdx,
} from '../../src/data/idx.js';
import { ShapeError, ValueError } from '../../src/errors.js';

/** A value of each IDX type that the type holds exactly. */
const VALUES: Record<IdxType, fc.Arbitrary<number>> = {
  ubyte: fc.integer({ min: 0, max: 255 }),
  byte: fc.integer({ min: -128, max: 127 }),
  short: fc.integer({ min: -32768, max: 32767 }),
  int: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  float: fc.float({ noNaN: true }).map(Math.fround),
  double: fc.double({ noNaN: true }),
};

const idxArrays = fc
  .record({
    type: fc.constantFrom<IdxType>('ubyte', 'byte', 'short', 'int', 'float', 'double'),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }),
  })
  .chain(({ type, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    return fc.record({
      type: fc.constant(type),
      shape: fc.constant(shape),
      data: fc.array(VALUES[type], { minLength: count, maxLength: count }),
    });
  });

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

describe('parseIdx', () => {
  it('reads the layout of the format, byte by byte', () => {
    // magic 00 00 0B (short) 01 (one dimension), size 2, then 258 and −2 big-endian
    const shorts = parseIdx(bytes(0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe));
    expect(shorts.type).toBe('short');
    expect(shorts.shape).toEqual([2]);
    expect([...shorts.data]).toEqual([258, -2]);
    // a 2×3 unsigned byte matrix, row-major
    const matrix = parseIdx(bytes(0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 250));
    expect(matrix.shape).toEqual([2, 3]);
    expect(matrix.data).toBeInstanceOf(Uint8Array);
    expect([...matrix.data]).toEqual([1, 2, 3, 4, 5, 250]);
    // a double: 1.5 is 0x3FF8000000000000
    const double = parseIdx(bytes(0, 0, 0x0e, 1, 0, 0, 0, 1, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
    expect([...double.data]).toEqual([1.5]);
    // a scalar: zero dimensions, one element
    expect([...parseIdx(bytes(0, 0, 0x09, 0, 0xff)).data]).toEqual([-1]);
  });

  test.prop([idxArrays])('encodeIdx then parseIdx gives back type, shape and values', (array) => {
    const parsed = parseIdx(encodeIdx(array));
    expect(parsed.type).toBe(array.type);
    expect(parsed.shape).toEqual(array.shape);
    expect([...parsed.data]).toEqual(array.data);
  });

  test.prop([idxArrays])('the file length is 4 + 4·ndims + element size · count', (array) => {
    const size = { ubyte: 1, byte: 1, short: 2, int: 4, float: 4, double: 8 }[array.type];
    expect(encodeIdx(array).length).toBe(4 + 4 * array.shape.length + size * array.data.length);
  });

  it('reads a view into a larger buffer at an odd offset', () => {
    const file = encodeIdx({ type: 'int', shape: [3], data: [7, -8, 9] });
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 1);
    expect([...parseIdx(padded.subarray(1, 1 + file.length)).data]).toEqual([7, -8, 9]);
  });

  it('rejects a wrong magic number, naming the bytes found', () => {
    expect(() => parseIdx(bytes(0x50, 0x4b, 3, 4))).toThrow(ValueError);
    expect(() => parseIdx(bytes(0x50, 0x4b, 3, 4))).toThrow(/wrong magic number.*0x50 0x4b/);
    expect(() => parseIdx(bytes(0x1f, 0x8b, 8, 0))).toThrow(/gzipped: use decodeIdx/);
  });

  it('rejects an unknown element type code', () => {
    expect(() => parseIdx(bytes(0, 0, 0x0a, 1, 0, 0, 0, 0))).toThrow(/unknown element type code 0x0a/);
  });

  it('says how many bytes a truncated file needs and has', () => {
    expect(() => parseIdx(bytes(0, 0))).toThrow(/needs 4 bytes and the file has 2/);
    expect(() => parseIdx(bytes(0, 0, 8, 3, 0, 0, 0, 1))).toThrow(/needs 16 bytes and the file has 8/);
    const file = encodeIdx({ type: 'short', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(() => parseIdx(file.subarray(0, file.length - 1))).toThrow(ValueError);
    expect(() => parseIdx(file.subarray(0, file.length - 1))).toThrow(
      /short array of shape \[2, 3\] needs 24 bytes and the file has 23/,
    );
  });

  it('rejects bytes left over after the array', () => {
    const file = encodeIdx({ type: 'ubyte', shape: [2], data: [1, 2] });
    const longer = new Uint8Array(file.length + 2);
    longer.set(file);
    expect(() => parseIdx(longer)).toThrow(/takes 10 bytes but the file has 12 \(2 left over\)/);
  });
});

describe('encodeIdx', () => {
  it('rejects data that does not fill the shape', () => {
    expect(() => encodeIdx({ type: 'ubyte', shape: [2, 2], data: [1, 2, 3] })).toThrow(ShapeError);
  });
});

describe('decodeIdx', () => {
  test.prop([idxArrays], { numRuns: 15 })(
    'inflates gzipped files and passes plain ones through',
    async (array) => {
      const file = encodeIdx(array);
      const zipped = await gzip(file);
      expect([zipped[0], zipped[1]]).toEqual([0x1f, 0x8b]);
      for (const input of [zipped, file]) {
        const parsed = await decodeIdx(input);
        expect(parsed.shape).toEqual(array.shape);
        expect([...parsed.data]).toEqual(array.data);
      }
    },
  );

  it('turns corrupt or truncated gzip into a ValueError', async () => {
    const zipped = await gzip(encodeIdx({ type: 'ubyte', shape: [100], data: new Array(100).fill(7) }));
    await expect(decodeIdx(zipped.subarray(0, zipped.length - 6))).rejects.toThrow(/corrupt gzip data/);
    const flipped = zipped.slice();
    flipped[flipped.length - 6] = flipped[flipped.length - 6]! ^ 0xff; // a byte of the CRC-32
    await expect(decodeIdx(flipped)).rejects.toThrow(ValueError);
    await expect(gunzip(bytes(0x1f, 0x8b, 0x63, 0, 0, 0, 0, 0, 0, 0, 0, 0))).rejects.toThrow(/corrupt gzip/);
  });
});

describe('imageDataset', () => {
  const images = (n: number, values: number[]) => ({
    type: 'ubyte' as const,
    shape: [n, 2, 2],
    data: Uint8Array.from(values),
  });
  const labels = (values: number[]) => ({
    type: 'ubyte' as const,
    shape: [values.length],
    data: Uint8Array.from(values),
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 12, maxLength: 12 })])(
    'scales v ↦ v/255 into [0, 1], adds a channel axis, keeps the labels',
    (values) => {
      const set = imageDataset(images(3, values), labels([2, 0, 1]));
      expect(set.shape).toEqual([3, 1, 2, 2]);
      expect([...set.images]).toEqual(values.map((v) => v / 255));
      expect(set.images.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect([...set.labels]).toEqual([2, 0, 1]);
      expect(set.labels).toBeInstanceOf(Int32Array);
    },
  );

  it('names both counts when images and labels disagree', () => {
    expect(() => imageDataset(images(3, new Array(12).fill(0)), labels([0, 1]))).toThrow(ShapeError);
    expect(() => imageDataset(images(3, new Array(12).fill(0)), labels([0, 1]))).toThrow(
      /holds 3 images and the label file 2 labels/,
    );
  });

  it('rejects labels out of range, non-byte images and labels of the wrong rank', () => {
    expect(() => imageDataset(images(1, [0, 0, 0, 0]), labels([10]), { nClasses: 10 })).toThrow(
      /label 0 is 10, expected an integer in \[0, 10\)/,
    );
    const floats = { type: 'float' as const, shape: [1, 2, 2], data: new Float32Array(4) };
    expect(() => imageDataset(floats, labels([0]))).toThrow(/unsigned bytes/);
    expect(() => imageDataset(images(1, [0, 0, 0, 0]), { ...labels([0]), shape: [1, 1] })).toThrow(
      /shape \[N\]/,
    );
  });
});

describe('takeIdx', () => {
  test.prop([idxArrays, fc.array(fc.nat(20))])(
    'takes whole entries along the first axis, keeping the type',
    (array, picks) => {
      fc.pre(array.shape.length > 0 && array.shape[0]! > 0);
      const parsed = parseIdx(encodeIdx(array));
      const n = array.shape[0]!;
      const indices = picks.map((p) => p % n);
      const taken = takeIdx(parsed, indices);
      const size = array.data.length / n;
      expect(taken.type).toBe(array.type);
      expect(taken.data.constructor).toBe(parsed.data.constructor);
      expect(taken.shape).toEqual([indices.length, ...array.shape.slice(1)]);
      expect([...taken.data]).toEqual(indices.flatMap((i) => array.data.slice(i * size, (i + 1) * size)));
      expect(() => takeIdx(parsed, [n])).toThrow(ValueError);
    },
  );
});
