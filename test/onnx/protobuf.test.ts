/** The protobuf reader against the wire format's definition and against its own writer. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { OnnxError } from '../../src/onnx/errors.js';
import { ProtoReader, ProtoWriter, WIRE_VARINT } from '../../src/onnx/protobuf.js';

/** The varint of a non-negative bigint, by the definition: 7 bits a byte, low first, high bit = more. */
function varintOf(v: bigint): number[] {
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

const safeInteger = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -(2 ** 32), 2 ** 32, -(2 ** 31)),
  fc.integer(),
  fc.bigInt({ min: BigInt(Number.MIN_SAFE_INTEGER), max: BigInt(Number.MAX_SAFE_INTEGER) }).map(Number),
);

describe('varints', () => {
  test.prop([safeInteger])('an int64 field holds the two’s-complement varint of its value', (v) => {
    const bytes = new ProtoWriter().int(3, v).finish();
    const unsigned = v < 0 ? (1n << 64n) + BigInt(v) : BigInt(v);
    expect([...bytes]).toEqual([3 * 8 + WIRE_VARINT, ...varintOf(unsigned)]);
    const r = new ProtoReader(bytes, 'Test');
    const key = r.key();
    expect(key).toMatchObject({ field: 3, wireType: WIRE_VARINT });
    expect(r.int64()).toBe(v);
    expect(r.done).toBe(true);
  });

  it('reads the examples of the protobuf encoding guide', () => {
    expect(new ProtoReader(Uint8Array.of(0x96, 0x01), 'T').varint()).toBe(150);
    expect(new ProtoReader(Uint8Array.of(0xac, 0x02), 'T').varint()).toBe(300);
    const minusOne = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    expect(new ProtoReader(minusOne, 'T').int64()).toBe(-1);
  });

  test.prop([fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n })])(
    'an int64 beyond 2⁵³ − 1 is an OnnxError, not a rounded number',
    (v) => {
      const r = new ProtoReader(Uint8Array.from(varintOf(v)), 'Test');
      expect(() => r.int64('dims')).toThrow(OnnxError);
    },
  );

  it('a varint of eleven bytes, or running past the end, names the offset', () => {
    const long = new Uint8Array(11).fill(0x80);
    expect(() => new ProtoReader(long, 'TensorProto').varint()).toThrow(/TensorProto: .*byte offset 0/);
    expect(() => new ProtoReader(Uint8Array.of(0x80, 0x80), 'TensorProto').varint()).toThrow(
      /runs past the end.*byte offset 0/,
    );
  });
});

describe('fields', () => {
  it('refuses groups and undefined wire types, naming field and offset', () => {
    for (const wire of [3, 4, 6, 7]) {
      const r = new ProtoReader(Uint8Array.of(0x00, (5 << 3) | wire), 'GraphProto');
      r.pos = 1;
      expect(() => r.key()).toThrow(new RegExp(`GraphProto: field 5 has wire type ${wire}.*byte offset 1`));
    }
  });

  it('a length past the end of the message is an OnnxError', () => {
    const bytes = Uint8Array.of((7 << 3) | 2, 0x05, 1, 2);
    const r = new ProtoReader(bytes, 'ModelProto');
    r.key();
    expect(() => r.message('ModelProto.graph')).toThrow(/claims 5 bytes but only 2 remain/);
  });

  test.prop([fc.array(safeInteger, { maxLength: 20 })])(
    'packed and one-per-field repeated int64 decode to the same list',
    (values) => {
      const packed = new ProtoWriter().packedInt64(1, values).finish();
      const single = new ProtoWriter();
      for (const v of values) single.int(1, v);
      for (const bytes of [packed, single.finish()]) {
        const r = new ProtoReader(bytes, 'T');
        const out: number[] = [];
        while (!r.done) r.repeatedInt64(r.key(), 'dims', out);
        expect(out).toEqual(values);
      }
    },
  );

  test.prop([fc.array(fc.float({ noNaN: true }), { maxLength: 20 })])(
    'packed floats decode to the float32 values written',
    (values) => {
      const r = new ProtoReader(new ProtoWriter().packedFloat32(4, values).finish(), 'T');
      const out: number[] = [];
      r.repeatedFloat32(r.key(), 'float_data', out);
      expect(out).toEqual(values.map(Math.fround));
    },
  );

  test.prop([fc.string(), fc.uint8Array({ maxLength: 50 })])(
    'strings and bytes come back as written',
    (s, b) => {
      const r = new ProtoReader(new ProtoWriter().string(1, s).bytes(2, b).finish(), 'T');
      r.key();
      expect(r.string('name')).toBe(s);
      r.key();
      expect([...r.bytesField('raw_data')]).toEqual([...b]);
    },
  );

  it('invalid UTF-8 in a string field is an OnnxError', () => {
    const r = new ProtoReader(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28), 'NodeProto');
    r.key();
    expect(() => r.string('op_type')).toThrow(/op_type is not valid UTF-8/);
  });
});
