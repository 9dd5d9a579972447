/**
 * Seeded pseudo-random numbers.
 *
 * Library code never calls `Math.random`: every random function takes a seed or
 * an `Rng`, so a result can be reproduced exactly. The generator is xoshiro128**
 * (Blackman and Vigna), seeded through splitmix32; a double takes 53 random bits
 * from two 32-bit outputs; normals come from the Box–Muller transform.
 */

import { ValueError } from './errors.js';

export interface Rng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** ±1 with equal probability (Rademacher). */
  sign(): number;
  /** An independent generator derived from this one's stream. */
  split(): Rng;
}

/** A seed or a generator: what every random function accepts. */
export type RngLike = number | Rng;

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    // Mix both halves of a double-valued seed so that nearby seeds give unrelated streams.
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  normal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    // Box–Muller: 1 − u is in (0, 1], so the logarithm is finite.
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  sign(): number {
    return this.nextUint32() & 1 ? 1 : -1;
  }

  split(): Rng {
    return new Xoshiro128(this.nextUint32() * 4096 + (this.nextUint32() & 4095));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A reproducible generator from an integer seed. */
export function seededRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isFinite(seed))
    throw new ValueError(`seededRng: seed must be a finite number, got ${String(seed)}`);
  return new Xoshiro128(Math.trunc(seed));
}

/** Accept a seed or a generator. */
export function toRng(seedOrRng: RngLike): Rng {
  if (typeof seedOrRng === 'number') return seededRng(seedOrRng);
  const rng = seedOrRng as Partial<Rng> | null;
  if (
    typeof rng !== 'object' ||
    rng === null ||
    typeof rng.normal !== 'function' ||
    typeof rng.uniform !== 'function'
  ) {
    throw new ValueError(`seed must be a finite number or a generator (an Rng), got ${String(seedOrRng)}`);
  }
  return seedOrRng;
}
