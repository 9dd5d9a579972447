/**
 * The Gaussian prior p(θ) = N(μ₀, P₀⁻¹) with diagonal precision P₀ = diag(p₀).
 *
 * As in laplace-torch, p₀ is given as a scalar, per layer, or per parameter.
 * "Layer" follows laplace-torch: one value per parameter tensor (a Linear
 * layer's weight and bias are separate). We also accept one value per layer
 * with parameters, which is unambiguous because the two counts differ
 * whenever any layer has more than one tensor. Internally a prior is a set of groups, each parameter in exactly
 * one group and each group with one precision; this is what the marginal-
 * likelihood optimiser works with.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Selection } from './selection.js';

export type PriorPrecision = number | readonly number[] | Float64Array;
export type PriorStructure = 'scalar' | 'layerwise' | 'diag';

export class Prior {
  /** Group of each selected parameter. */
  readonly groupOf: Int32Array;
  /** Precision of each group. */
  readonly values: Float64Array;
  readonly form: 'scalar' | 'layer' | 'tensor' | 'diag';

  private constructor(groupOf: Int32Array, values: Float64Array, form: Prior['form']) {
    this.groupOf = groupOf;
    this.values = values;
    this.form = form;
  }

  static from(value: PriorPrecision, selection: Selection, what = 'priorPrecision'): Prior {
    const p = selection.nParams;
    if (typeof value !== 'number' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
      throw new ValueError(`${what}: must be a number, a number[] or a Float64Array`);
    }
    const arr = typeof value === 'number' ? [value] : Array.from(value as ArrayLike<number>);
    if (arr.length === 0) throw new ShapeError(`${what}: no values`);
    arr.forEach((v, i) => {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
        throw new ValueError(
          `${what}: precision must be positive and finite, got ${v}${arr.length > 1 ? ` at index ${i}` : ''}`,
        );
      }
    });
    if (arr.length === 1) return new Prior(new Int32Array(p), Float64Array.of(arr[0]!), 'scalar');
    if (arr.length === p) {
      return new Prior(
        Int32Array.from({ length: p }, (_, i) => i),
        Float64Array.from(arr),
        'diag',
      );
    }
    if (selection.indices === null) {
      const { count, groupOf } = selection.tensorGroups();
      if (arr.length === count) return new Prior(groupOf, Float64Array.from(arr), 'tensor');
      const layers = selection.layers;
      if (arr.length === layers.length) {
        const byTensor = new Int32Array(selection.blocks.length);
        selection.blocks.forEach((b, i) => {
          byTensor[i] = layers.indexOf(b.layer);
        });
        return new Prior(
          groupOf.map((g) => byTensor[g]!),
          Float64Array.from(arr),
          'layer',
        );
      }
      throw new ShapeError(
        `${what}: ${arr.length} values fit neither a scalar, ${count} parameter tensors, ${layers.length} layers with parameters, nor ${p} parameters`,
      );
    }
    throw new ShapeError(
      `${what}: ${arr.length} values fit neither a scalar nor the ${p} subnetwork parameters`,
    );
  }

  /** A prior with this one's grouping and new group values. */
  withValues(values: Float64Array): Prior {
    return new Prior(this.groupOf, values, this.form);
  }

  /** A prior of the requested structure, every group at `value`. */
  static withStructure(structure: PriorStructure, value: number, selection: Selection): Prior {
    if (structure === 'scalar') return Prior.from(value, selection);
    if (structure === 'diag') return Prior.from(new Float64Array(selection.nParams).fill(value), selection);
    return Prior.from(new Array(selection.tensorGroups().count).fill(value), selection);
  }

  /** p₀ as one value per selected parameter. */
  diagonal(): Float64Array {
    const out = new Float64Array(this.groupOf.length);
    for (let i = 0; i < out.length; i++) out[i] = this.values[this.groupOf[i]!]!;
    return out;
  }

  /** log det P₀ = Σᵢ log p₀ᵢ. */
  logDet(): number {
    const counts = this.groupSizes();
    let s = 0;
    for (let g = 0; g < this.values.length; g++) s += counts[g]! * Math.log(this.values[g]!);
    return s;
  }

  groupSizes(): Float64Array {
    const counts = new Float64Array(this.values.length);
    for (const g of this.groupOf) counts[g]! += 1;
    return counts;
  }

  /** The user-facing value: a number, one number per group, or a Float64Array per parameter. */
  toPublic(): number | number[] | Float64Array {
    if (this.form === 'scalar') return this.values[0]!;
    if (this.form === 'diag') return this.values.slice();
    return Array.from(this.values);
  }
}

/** The prior μ₀ per random weight from a scalar or per-parameter value. */
export function priorMeanVector(value: unknown, p: number): Float64Array {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new ValueError(`laplace: priorMean must be finite, got ${String(value)}`);
    return new Float64Array(p).fill(value);
  }
  if (!Array.isArray(value) && !(value instanceof Float64Array)) {
    throw new ValueError('laplace: priorMean must be a number, a number[] or a Float64Array');
  }
  const values = value as ArrayLike<unknown>;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ValueError(
        `laplace: priorMean[${i}] is ${typeof v === 'string' ? `the string '${v}'` : String(v)}, not a finite number`,
      );
    }
  }
  if (values.length === 1) return new Float64Array(p).fill(values[0] as number);
  if (values.length !== p)
    throw new ShapeError(`laplace: priorMean has ${values.length} values, expected 1 or ${p}`);
  return Float64Array.from(values as ArrayLike<number>);
}
