/** The byte emitter against the engine itself: LEB128, a hand-assembled function, the kernel modules. */
import v8 from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  exportFunction,
  funcBody,
  funcType,
  i32Const,
  module,
  Section,
  section,
  sleb,
  Type,
  uleb,
  vec,
} from '../../../src/kernels/wasm/emit.js';
import { kernelModule } from '../../../src/kernels/wasm/module.js';

// Node 20 ships relaxed SIMD behind a flag: the relaxed kernel module validates only with it on.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

/** Textbook LEB128 decoders (unsigned and signed), one group of seven bits at a time. */
function decodeUnsigned(bs: number[]): number {
  let value = 0;
  bs.forEach((b, i) => {
    value += (b & 0x7f) * 2 ** (7 * i);
  });
  return value;
}
function decodeSigned(bs: number[]): number {
  let value = decodeUnsigned(bs);
  const bits = 7 * bs.length;
  if (bs[bs.length - 1]! & 0x40) value -= 2 ** bits;
  return value;
}

describe('emitter', () => {
  it('LEB128 of the published examples', () => {
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(uleb(0)).toEqual([0]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
  });

  test.prop([fc.nat({ max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })])(
    'LEB128 decodes back, in the fewest bytes',
    (u, s) => {
      expect(decodeUnsigned(uleb(u))).toBe(u);
      expect(uleb(u).length).toBe(Math.max(1, Math.ceil(Math.log2(u + 1) / 7)));
      expect(decodeSigned(sleb(s))).toBe(s);
      const last = sleb(s).at(-1)!;
      expect(last & 0x80).toBe(0);
    },
  );

  test.prop([fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })])(
    'a function returning i32.const v, run by the engine, returns v',
    (v) => {
      const bytesOfModule = module(
        section(Section.type, vec([funcType([], [Type.i32])])),
        section(Section.function, vec([0])),
        section(Section.export, vec([exportFunction('f', 0)])),
        section(Section.code, vec([funcBody([], bytes(i32Const(v)))])),
      );
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytesOfModule));
      expect((exports['f'] as () => number)()).toBe(v);
    },
  );

  it('the kernel modules validate and stay small', () => {
    for (const relaxed of [false, true]) {
      const bytesOfModule = kernelModule({ relaxed });
      expect(WebAssembly.validate(bytesOfModule)).toBe(true);
      // Chrome refuses to compile a module over 4 KB synchronously on a page's main thread.
      expect(bytesOfModule.length).toBeLessThan(4096);
    }
  });
});
