/**
 * Reading a layer's JSON form field by field.
 *
 * Every reader takes the parsed object, the field's key and `what` (the place
 * in the document, e.g. "Sequential.fromJSON: layers[2]"), and either returns
 * the value in the type the layer needs or throws a ValueError (wrong type or
 * value) or ShapeError (an array of the wrong length or depth) naming
 * `what.key` and what was found. Nothing here throws a raw TypeError, whatever
 * the input.
 */
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, sizeOf, Tensor } from '../tensor.js';

/** A short description of an unexpected JSON value for an error message. */
export function describeValue(v: unknown): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v === undefined) return 'nothing';
  return JSON.stringify(v) ?? String(v);
}

/** The object itself, or a ValueError if `json` is not a plain object. */
export function asObject(json: unknown, what: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValueError(`${what} must be an object, got ${describeValue(json)}`);
  }
  return json as Record<string, unknown>;
}

/** An integer ≥ `min`; `fallback` when the field is absent (required when no fallback). */
export function readInteger(
  json: Record<string, unknown>,
  key: string,
  what: string,
  min: number,
  fallback?: number,
): number {
  const v = json[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ValueError(`${what}.${key} must be an integer ≥ ${min}, got ${describeValue(v)}`);
  }
  return v;
}

/** A finite number, optionally with an open or closed range check; `fallback` when absent. */
export function readNumber(
  json: Record<string, unknown>,
  key: string,
  what: string,
  check: (v: number) => boolean,
  expected: string,
  fallback?: number,
): number {
  const v = json[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
    throw new ValueError(`${what}.${key} must be ${expected}, got ${describeValue(v)}`);
  }
  return v;
}

/** [h, w] integers ≥ `min` from a pair or a single integer; `fallback` when absent. */
export function readPair(
  json: Record<string, unknown>,
  key: string,
  what: string,
  min: number,
  fallback?: readonly [number, number],
): [number, number] {
  const v = json[key];
  if (v === undefined && fallback !== undefined) return [fallback[0], fallback[1]];
  const pair = typeof v === 'number' ? [v, v] : v;
  if (
    !Array.isArray(pair) ||
    pair.length !== 2 ||
    !pair.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min)
  ) {
    throw new ValueError(
      `${what}.${key} must be an integer ≥ ${min} or a pair [h, w] of them, got ${describeValue(v)}`,
    );
  }
  return [pair[0] as number, pair[1] as number];
}

/** A list of positive integers (a shape), or one positive integer as a list of one. */
export function readShape(json: Record<string, unknown>, key: string, what: string): number[] {
  const v = json[key];
  const list = typeof v === 'number' ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)
  ) {
    throw new ValueError(
      `${what}.${key} must be a positive integer or a non-empty list of them, got ${describeValue(v)}`,
    );
  }
  return list as number[];
}

/**
 * A nested array of finite numbers of exactly `shape` ([] a bare number), as a
 * Tensor; the first misfit is named by its index path, e.g. `weight[3][0]`.
 */
export function readTensor(json: Record<string, unknown>, key: string, what: string, shape: Shape): Tensor {
  const data = new Float64Array(sizeOf(shape));
  let offset = 0;
  const visit = (v: unknown, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValueError(`${what}.${path} must be a finite number, got ${describeValue(v)}`);
      }
      data[offset++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      throw new ShapeError(
        `${what}.${path} must be an array of length ${shape[axis]} (${key} is ${shapeString(shape)}), got ${describeValue(v)}`,
      );
    }
    for (let i = 0; i < v.length; i++) visit(v[i], axis + 1, `${path}[${i}]`);
  };
  visit(json[key], 0, key);
  return new Tensor(data, [...shape]);
}

/** readTensor, or null when the field is null or absent. */
export function readOptionalTensor(
  json: Record<string, unknown>,
  key: string,
  what: string,
  shape: Shape,
): Tensor | null {
  const v = json[key];
  return v === null || v === undefined ? null : readTensor(json, key, what, shape);
}
