/**
 * The protobuf wire format, as much of it as ONNX needs.
 *
 * A message is a sequence of fields, each a key then a payload. The key is a
 * varint k = (field number << 3) | wire type, and the wire type says how long
 * the payload is:
 *
 *   0  varint            7 bits per byte, little end first, high bit = more
 *   1  fixed64           8 bytes little-endian (double)
 *   2  length-delimited  a varint length n, then n bytes (strings, bytes,
 *                        sub-messages, packed repeated scalars)
 *   5  fixed32           4 bytes little-endian (float)
 *
 * (3 and 4, groups, are obsolete and refused.) A repeated scalar comes either
 * one field per element or packed: one length-delimited field holding the
 * elements back to back; a reader accepts both. int64 is a varint of the
 * two's-complement value, so −1 takes ten bytes; it is returned as a JS
 * number when |v| ≤ 2⁵³ − 1 and refused otherwise, never rounded. Every read
 * checks the bytes that remain, so a truncated or corrupted file is an
 * `OnnxError` naming the message path, the field and the byte offset, never
 * a read past the end.
 *
 * The writer is the inverse, for export: fields are written in the order
 * given, a sub-message whole once its own writer is finished (its length is
 * then known).
 */
import { OnnxError } from './errors.js';

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_FIXED32 = 5;

const WIRE_NAMES: Record<number, string> = {
  0: 'varint',
  1: 'fixed64',
  2: 'length-delimited',
  3: 'start-group',
  4: 'end-group',
  5: 'fixed32',
};

const TWO_32 = 4294967296;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One field's key, with where it started (for error messages). */
export interface FieldKey {
  readonly field: number;
  readonly wireType: number;
  readonly offset: number;
}

/**
 * Reads one message: `bytes[start, end)`, whose absolute position in the file
 * is `bytes.byteOffset`-independent (offsets in errors count from the start of
 * the buffer handed to the first reader).
 */
export class ProtoReader {
  readonly bytes: Uint8Array;
  /** The message's name and path, e.g. `ModelProto.graph.node[3]`, for errors. */
  readonly path: string;
  private readonly view: DataView;
  private readonly end: number;
  pos: number;

  constructor(bytes: Uint8Array, path: string, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.path = path;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string, offset = this.pos): never {
    throw new OnnxError(`${this.path}: ${message} (byte offset ${offset})`);
  }

  /** The next field's key. */
  key(): FieldKey {
    const offset = this.pos;
    const k = this.varint('a field key');
    const field = Math.floor(k / 8);
    const wireType = k % 8;
    if (field === 0) this.fail('field number 0 is not valid protobuf', offset);
    if (wireType === 3 || wireType === 4 || wireType > 5) {
      this.fail(`field ${field} has wire type ${wireType}, which is not supported`, offset);
    }
    return { field, wireType, offset };
  }

  /** Throw unless `key` has wire type `expected`; `name` is the field's name in the schema. */
  expect(key: FieldKey, expected: number, name: string): void {
    if (key.wireType !== expected) {
      this.fail(
        `field ${key.field} (${name}) has wire type ${WIRE_NAMES[key.wireType]}, expected ${WIRE_NAMES[expected]}`,
        key.offset,
      );
    }
  }

  /** An unsigned varint of at most 53 bits. */
  varint(what = 'a varint'): number {
    const [lo, hi] = this.varint64(what);
    if (hi >= 0x200000) this.fail(`${what} does not fit in 53 bits`);
    return hi * TWO_32 + lo;
  }

  /** A signed int64 (two's complement in a varint) as a number; throws if |v| > 2⁵³ − 1. */
  int64(what = 'an int64'): number {
    const start = this.pos;
    const [lo, hi] = this.varint64(what);
    if (hi >= 0x80000000) {
      // negative: v = −(2⁶⁴ − u) = −((~hi)·2³² + (~lo) + 1)
      const nlo = ~lo >>> 0;
      const nhi = ~hi >>> 0;
      const magnitude = nhi * TWO_32 + nlo + 1;
      if (nhi >= 0x200000) this.fail(`${what} is below −(2⁵³ − 1)`, start);
      return -magnitude;
    }
    if (hi >= 0x200000) this.fail(`${what} is above 2⁵³ − 1`, start);
    return hi * TWO_32 + lo;
  }

  /** A varint as its low and high 32 bits (unsigned); at most ten bytes. */
  private varint64(what: string): [number, number] {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`${what} runs past the end of the message`, start);
      const b = this.bytes[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) this.fail(`${what} overflows 64 bits`, start);
        return [lo >>> 0, hi >>> 0];
      }
    }
    return this.fail(`${what} is longer than ten bytes`, start);
  }

  float32(what = 'a float'): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(what = 'a double'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The payload of a length-delimited field, as [start, end) in `bytes`. */
  span(what: string): [number, number] {
    const start = this.pos;
    const n = this.varint(`the length of ${what}`);
    if (n > this.end - this.pos) {
      this.fail(`${what} claims ${n} bytes but only ${this.end - this.pos} remain`, start);
    }
    const s = this.pos;
    this.pos += n;
    return [s, s + n];
  }

  /** A length-delimited payload as bytes (a view, not a copy). */
  bytesField(what: string): Uint8Array {
    const [s, e] = this.span(what);
    return this.bytes.subarray(s, e);
  }

  string(what: string): string {
    const start = this.pos;
    const b = this.bytesField(what);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }

  /** A reader for the sub-message in the next length-delimited payload. */
  message(path: string): ProtoReader {
    const [s, e] = this.span(path);
    return new ProtoReader(this.bytes, path, s, e);
  }

  /** Skip a field of an unknown number. */
  skip(key: FieldKey): void {
    switch (key.wireType) {
      case WIRE_VARINT:
        this.varint64(`field ${key.field}`);
        return;
      case WIRE_FIXED64:
        this.need(8, `field ${key.field}`);
        this.pos += 8;
        return;
      case WIRE_LENGTH:
        this.span(`field ${key.field}`);
        return;
      case WIRE_FIXED32:
        this.need(4, `field ${key.field}`);
        this.pos += 4;
        return;
      default:
        this.fail(`field ${key.field} has wire type ${key.wireType}, which is not supported`, key.offset);
    }
  }

  /** Append a repeated int64 field's value(s) to `out`: one varint, or packed. */
  repeatedInt64(key: FieldKey, name: string, out: number[]): void {
    if (key.wireType === WIRE_LENGTH) {
      const [s, e] = this.span(name);
      const inner = new ProtoReader(this.bytes, `${this.path}.${name}`, s, e);
      while (!inner.done) out.push(inner.int64(`an element of ${name}`));
    } else {
      this.expect(key, WIRE_VARINT, name);
      out.push(this.int64(name));
    }
  }

  /** Append a repeated float field's value(s) to `out`: one fixed32, or packed. */
  repeatedFloat32(key: FieldKey, name: string, out: number[]): void {
    if (key.wireType === WIRE_LENGTH) {
      const [s, e] = this.span(name);
      if ((e - s) % 4 !== 0) this.fail(`packed ${name} has ${e - s} bytes, not a multiple of 4`, key.offset);
      for (let p = s; p < e; p += 4) out.push(this.view.getFloat32(p, true));
    } else {
      this.expect(key, WIRE_FIXED32, name);
      out.push(this.float32(name));
    }
  }

  /** Append a repeated double field's value(s) to `out`: one fixed64, or packed. */
  repeatedFloat64(key: FieldKey, name: string, out: number[]): void {
    if (key.wireType === WIRE_LENGTH) {
      const [s, e] = this.span(name);
      if ((e - s) % 8 !== 0) this.fail(`packed ${name} has ${e - s} bytes, not a multiple of 8`, key.offset);
      for (let p = s; p < e; p += 8) out.push(this.view.getFloat64(p, true));
    } else {
      this.expect(key, WIRE_FIXED64, name);
      out.push(this.float64(name));
    }
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      this.fail(`${what} needs ${n} bytes but only ${this.end - this.pos} remain`);
    }
  }
}

/**
 * Builds one message. Sub-messages are built by their own writer and written
 * whole with `message`, which knows their length by then.
 */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private buffer = new Uint8Array(256);
  private used = 0;
  private total = 0;

  get length(): number {
    return this.total + this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buffer.length) return;
    if (this.used > 0) {
      this.chunks.push(this.buffer.subarray(0, this.used));
      this.total += this.used;
    }
    this.buffer = new Uint8Array(Math.max(n, 4096));
    this.used = 0;
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new OnnxError(`ProtoWriter: ${value} is not a safe integer`);
    this.reserve(10);
    if (value < 0) {
      // two's complement in 64 bits, ten bytes
      let lo = value % TWO_32;
      let hi = Math.floor(value / TWO_32);
      lo = lo >>> 0;
      hi = hi >>> 0;
      this.rawVarint64(lo, hi);
      return;
    }
    while (value >= 0x80) {
      this.buffer[this.used++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.used++] = value;
  }

  private rawVarint64(lo: number, hi: number): void {
    for (let i = 0; i < 9; i++) {
      this.buffer[this.used++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi = hi >>> 7;
    }
    this.buffer[this.used++] = lo & 0x01;
  }

  private rawKey(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** A varint field (uint64, int64, int32, enum, bool). */
  int(field: number, value: number): this {
    this.rawKey(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float32(field: number, value: number): this {
    this.rawKey(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buffer.buffer).setFloat32(this.used, value, true);
    this.used += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.rawKey(field, WIRE_LENGTH);
    this.rawVarint(value.length);
    this.rawBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated int64 field. */
  packedInt64(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloat32(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, b);
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    out.set(this.buffer.subarray(0, this.used), offset);
    return out;
  }
}
