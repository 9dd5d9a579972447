/**
 * Every primitive, in one static list. Nothing registers itself: a transformation
 * finds a primitive's rules on the primitive object, and the property tests
 * iterate over this list, so a new primitive cannot skip them.
 */
import type { Primitive } from '../core.js';
import { convPrimitives } from './conv.js';
import { reluBackward, tanhBackward } from './elementwise.js';
import * as math from './math.js';
import { matmulPrimitives } from './matmul.js';
import { poolPrimitives } from './pool.js';
import { reducePrimitives } from './reduce.js';
import { shapePrimitives } from './shape.js';

export const primitives: readonly Primitive[] = [
  // Every export of math.ts is an elementwise op carrying its primitive.
  ...[...Object.values(math), tanhBackward, reluBackward].map((op) => op.primitive),
  ...reducePrimitives,
  ...shapePrimitives,
  ...matmulPrimitives,
  ...convPrimitives,
  ...poolPrimitives,
];
