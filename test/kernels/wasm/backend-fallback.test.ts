/**
 * A runtime that refuses to compile WebAssembly from bytes (a content security
 * policy without 'wasm-unsafe-eval', Cloudflare Workers): the library must fall
 * back to its TypeScript kernels silently and say so through `backend()`.
 * The refusal is staged before the library is first used, so this file imports
 * it dynamically; with LAPLACE_TS_BACKEND set, test/setup.ts has used it already
 * and the file is skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValueError } from '../../../src/errors.js';
import { randn } from '../../../src/tensor.js';
import { expectClose } from '../../helpers.js';
import { EPS, fromMl, toMl } from '../../oracles.js';

const realModule = WebAssembly.Module;

beforeAll(() => {
  // What V8 throws when the embedder disallows code generation from bytes.
  const refuse = function Module(): never {
    throw new WebAssembly.CompileError('WebAssembly.Module(): Wasm code generation disallowed by embedder');
  };
  (WebAssembly as { Module: unknown }).Module = refuse;
});
afterAll(() => {
  (WebAssembly as { Module: unknown }).Module = realModule;
});

describe.skipIf(process.env['LAPLACE_TS_BACKEND'])('compiling from bytes is refused', () => {
  it("backend() is 'js', wasm backends cannot be forced, products still work", async () => {
    const linalg = await import('../../../src/linalg/index.js');
    expect(linalg.backend()).toBe('js');
    expect(linalg.availableBackends()).toEqual(['js']);
    expect(() => linalg.setBackend('wasm-simd')).toThrow(ValueError);
    expect(() => linalg.setBackend('wasm-simd')).toThrow(/setBackend: backend 'wasm-simd' is not available/);
    const a = randn([70, 90], 1);
    const b = randn([90, 80], 2);
    expectClose(linalg.gemm(a, b), fromMl(toMl(a).mmul(toMl(b))), { rtol: 1e-12, atol: 400 * EPS * 90 });
    linalg.setBackend('js');
    expect(linalg.backend()).toBe('js');
  });
});
