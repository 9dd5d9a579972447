/**
 * A WebAssembly byte emitter: just enough of the binary format to write one
 * module by hand, in TypeScript, at run time.
 *
 * A module is the 8-byte preamble `\0asm` + version 1, then sections. Each
 * section is one id byte, its byte length and its contents; sections come in a
 * fixed order (type 1, import 2, function 3, export 7, code 10 are all we use).
 *
 * Integers are LEB128: seven bits per byte, least significant group first, the
 * high bit set on every byte but the last. Unsigned 624485 = 0x98765 is groups
 * 0x65, 0x0e, 0x26, emitted as e5 8e 26. Signed integers (the immediates of
 * `i32.const`) are two's complement and stop once the remaining bits are all
 * copies of the sign bit of the last group emitted, so −1 is the single byte 7f.
 *
 * A list ("vector") is its length as unsigned LEB128 followed by its elements;
 * a name is a vector of UTF-8 bytes. Code is a stack machine: each instruction is
 * an opcode (one byte, or a prefix byte and a LEB128 sub-opcode for the SIMD
 * instructions under 0xfd) followed by its immediates; `block`/`loop` open a
 * structured region closed by `end` (0x0b), and `br_if d` jumps to the region d
 * levels out: to its start for a `loop`, past its `end` for a `block`.
 */

/** Bytes, nested arrays of bytes or nothing; flattened by `bytes`. */
export type Bytes = number | readonly Bytes[];

/** Flatten nested byte lists into one array. */
export function bytes(...parts: Bytes[]): number[] {
  const out: number[] = [];
  const push = (part: Bytes): void => {
    if (typeof part === 'number') out.push(part);
    else for (const p of part) push(p);
  };
  for (const p of parts) push(p);
  return out;
}

/** Unsigned LEB128 of a non-negative integer below 2³². */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let group = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) group |= 0x80;
    out.push(group);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  value |= 0;
  for (;;) {
    const group = value & 0x7f;
    value >>= 7; // arithmetic shift keeps the sign
    const signBit = group & 0x40;
    if ((value === 0 && !signBit) || (value === -1 && signBit)) {
      out.push(group);
      return out;
    }
    out.push(group | 0x80);
  }
}

/** A vector: element count, then the elements. */
export function vec(items: readonly Bytes[]): number[] {
  return bytes(uleb(items.length), items);
}

/** A name: UTF-8 bytes as a vector. */
function name(text: string): number[] {
  return vec([...new TextEncoder().encode(text)]);
}

/** A section: id, byte length, contents. */
export function section(id: number, contents: Bytes): number[] {
  const body = bytes(contents);
  return bytes(id, uleb(body.length), body);
}

export const Section = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;

/** Value types. */
export const Type = { i32: 0x7f, f64: 0x7c, v128: 0x7b } as const;

/** A function type: 0x60, the parameter types, the result types. */
export function funcType(params: readonly number[], results: readonly number[]): number[] {
  return bytes(0x60, vec(params), vec(results));
}

/**
 * Memory limits: flag 0 is `min` only, 1 is `min` and `max`, 3 is `min`, `max`
 * and shared (threads proposal); sizes are in 64 KiB pages.
 */
export function memoryLimits(min: number, max?: number, shared = false): number[] {
  if (max === undefined) return bytes(0x00, uleb(min));
  return bytes(shared ? 0x03 : 0x01, uleb(min), uleb(max));
}

/** An import of a memory: module name, field name, kind 2 (memory), limits. */
function importMemory(module: string, field: string, limits: Bytes): number[] {
  return bytes(name(module), name(field), 0x02, limits);
}

/** An export of function `index` (kind 0). */
export function exportFunction(field: string, index: number): number[] {
  return bytes(name(field), 0x00, uleb(index));
}

/**
 * A function body: its size, then local declarations as runs of (count, type),
 * then the instructions and a final `end`. Parameters are locals 0, 1, … and the
 * declared locals follow them.
 */
export function funcBody(locals: readonly (readonly [count: number, type: number])[], code: Bytes): number[] {
  const body = bytes(vec(locals.map(([count, type]) => bytes(uleb(count), type))), code, Op.end);
  return bytes(uleb(body.length), body);
}

/** A whole module from its sections, after the preamble `\0asm` and version 1. */
export function module(...sections: Bytes[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes([0x00, 0x61, 0x73, 0x6d], [0x01, 0x00, 0x00, 0x00], sections));
}

/** Block type of a `block` or `loop` that leaves nothing on the stack. */
const EMPTY = 0x40;

/** The one-byte opcodes we use. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32ShrU: 0x76,
  f64Load: 0x2b,
  f64Store: 0x39,
  f64Add: 0xa0,
  simd: 0xfd,
} as const;

/** SIMD sub-opcodes (after the 0xfd prefix). */
export const Simd = {
  v128Load: 0x00,
  v128Load64Splat: 0x0a,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Shuffle: 0x0d,
  f64x2Splat: 0x14,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  /** Relaxed SIMD: a·b + c, fused or not at the runtime's choice. */
  f64x2RelaxedMadd: 0x107,
} as const;

// Instructions with their immediates. A memory access carries a memarg: the
// alignment as a power of two (a hint) and a constant byte offset added to the
// address popped from the stack.

export const localGet = (index: number): number[] => bytes(Op.localGet, uleb(index));
export const localSet = (index: number): number[] => bytes(Op.localSet, uleb(index));
const localTee = (index: number): number[] => bytes(Op.localTee, uleb(index));
export const i32Const = (value: number): number[] => bytes(Op.i32Const, sleb(value));
export const simd = (sub: number): number[] => bytes(Op.simd, uleb(sub));
export const f64Load = (offset: number): number[] => bytes(Op.f64Load, 3, uleb(offset));
export const f64Store = (offset: number): number[] => bytes(Op.f64Store, 3, uleb(offset));
export const v128Load = (offset: number): number[] => bytes(simd(Simd.v128Load), 4, uleb(offset));
export const v128Store = (offset: number): number[] => bytes(simd(Simd.v128Store), 4, uleb(offset));
/** Load one f64 and copy it into both lanes. */
export const v128Load64Splat = (offset: number): number[] =>
  bytes(simd(Simd.v128Load64Splat), 3, uleb(offset));
/** The all-zero vector (16 immediate bytes). */
export const v128Zero = (): number[] => bytes(simd(Simd.v128Const), new Array<number>(16).fill(0));
/** A constant vector with `value` in both f64 lanes (each lane's 8 bytes little-endian, as memory holds them). */
export function f64x2Const(value: number): number[] {
  const lanes = new DataView(new ArrayBuffer(16));
  lanes.setFloat64(0, value, true);
  lanes.setFloat64(8, value, true);
  return bytes(simd(Simd.v128Const), [...new Uint8Array(lanes.buffer)]);
}

/**
 * Lane shuffle of two vectors: byte i of the result is byte lanes[i] of a ‖ b
 * (0–15 from a, 16–31 from b). For f64 lanes: `lowHalves` gives (a₀, b₀),
 * `highHalves` gives (a₁, b₁), `lowThenHigh` gives (a₀, b₁).
 */
const i8x16Shuffle = (lanes: readonly number[]): number[] => bytes(simd(Simd.i8x16Shuffle), lanes);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
export const lowHalves = (): number[] => i8x16Shuffle([...range(0, 8), ...range(16, 8)]);
export const highHalves = (): number[] => i8x16Shuffle([...range(8, 8), ...range(24, 8)]);
/** (a₀, b₁): lane 0 from a, lane 1 from b. */
export const lowThenHigh = (): number[] => i8x16Shuffle([...range(0, 8), ...range(24, 8)]);

/** `loop` … `br_if 0` while the counter in `local`, decremented by one per pass, is non-zero. */
export function countdownLoop(counter: number, body: Bytes): number[] {
  return bytes(
    Op.loop,
    EMPTY,
    body,
    localGet(counter),
    i32Const(1),
    Op.i32Sub,
    localTee(counter),
    Op.brIf,
    0,
    Op.end,
  );
}

/**
 * `body` as many times as the counter in `local` says, none if it is zero: a
 * `block` around the countdown loop, left at once (`br_if 0` out of a block
 * jumps past its `end`) when the counter is zero.
 */
export function repeat(counter: number, body: Bytes): number[] {
  return bytes(
    Op.block,
    EMPTY,
    localGet(counter),
    Op.i32Eqz,
    Op.brIf,
    0,
    countdownLoop(counter, body),
    Op.end,
  );
}

/** N indices: a tuple when N is a literal, so `const [a, b] = take(2)` names exactly two; else an array. */
type Indices<N extends number, T extends number[] = []> = number extends N
  ? number[]
  : T['length'] extends N
    ? T
    : Indices<N, [...T, number]>;

/**
 * Hands out local indices in order from 0: the parameters first, then the
 * declared locals, `take(count)` at a time.
 */
export function localIndices(): <N extends number>(count: N) => Indices<N> {
  let next = 0;
  return <N extends number>(count: N) => Array.from({ length: count }, () => next++) as Indices<N>;
}

/** local ← local + step. */
export function addTo(local: number, step: Bytes): number[] {
  return bytes(localGet(local), step, Op.i32Add, localSet(local));
}

/** A function to assemble: its signature, extra locals (runs of count and type) and code. */
export interface WasmFunction {
  name: string;
  params: readonly number[];
  locals: readonly (readonly [count: number, type: number])[];
  code: Bytes;
}

/**
 * A module that imports its memory as `env.memory` and exports `functions`
 * (which take parameters and return nothing). Function i gets type i; the
 * function section lists each function's type index, the code section their
 * bodies, in the same order.
 */
export function assemble(functions: readonly WasmFunction[], limits: Bytes): Uint8Array<ArrayBuffer> {
  return module(
    section(Section.type, vec(functions.map((f) => funcType(f.params, [])))),
    section(Section.import, vec([importMemory('env', 'memory', limits)])),
    section(Section.function, vec(functions.map((_, i) => uleb(i)))),
    section(Section.export, vec(functions.map((f, i) => exportFunction(f.name, i)))),
    section(Section.code, vec(functions.map((f) => funcBody(f.locals, f.code)))),
  );
}
