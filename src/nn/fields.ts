/**
 * Reading a JSON document field by field: a layer's JSON form here, a saved
 * posterior or a laplace-torch one in src/laplace.
 *
 * Every reader takes the parsed object, the field's key and `what`, the name
 * of the object in errors, and either returns the value in the type the caller
 * needs or throws a ValueError (wrong type or value) or ShapeError (an array of
 * the wrong length or depth) naming the field and what was found; asObject and
 * asTensor take the value itself. A field of an object inside a document is
 * `what.key` ("Sequential.fromJSON: layers[2]" → "…: layers[2].weight"); a
 * `what` ending in a colon is a reader's name for the document itself, whose
 * fields follow a space ("Laplace.fromJSON:" → "Laplace.fromJSON: mean").
 * Nothing here throws a raw TypeError, whatever the input.
 */
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, sizeOf, Tensor } from '../tensor.js';

/** Characters of a value an error message quotes: enough to recognise it, not a whole document. */
const QUOTED = 40;

/** A short description of an unexpected JSON value for an error message. */
export function describeValue(v: unknown): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v === undefined) return 'nothing';
  // JSON would print NaN and ±Infinity as null, and it throws on a bigint or a cycle.
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  let text: string;
  try {
    text = JSON.stringify(v) ?? typeof v;
  } catch {
    text = typeof v;
  }
  return text.length > QUOTED ? `${text.slice(0, QUOTED)}…` : text;
}

/** Field `key` of the object `what` names, as errors name it (see above). */
function fieldName(what: string, key: string): string {
  return what.endsWith(':') ? `${what} ${key}` : `${what}.${key}`;
}

/** A finite number that passes `check`. */
function isNumber(v: unknown, check: (v: number) => boolean = () => true): v is number {
  return typeof v === 'number' && Number.isFinite(v) && check(v);
}

/** The object itself, or a ValueError if `json` is not a plain object. */
export function asObject(json: unknown, what: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValueError(`${what} must be an object, got ${describeValue(json)}`);
  }
  return json as Record<string, unknown>;
}

/** One of the strings `allowed`. */
export function readChoice<T extends string>(
  json: Record<string, unknown>,
  key: string,
  what: string,
  allowed: readonly T[],
): T {
  const v = json[key];
  if (!allowed.includes(v as T)) {
    const quoted = allowed.map((a) => JSON.stringify(a));
    const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0];
    throw new ValueError(`${fieldName(what, key)} must be ${list}, got ${describeValue(v)}`);
  }
  return v as T;
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
    throw new ValueError(`${fieldName(what, key)} must be an integer ≥ ${min}, got ${describeValue(v)}`);
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
  if (!isNumber(v, check)) {
    throw new ValueError(`${fieldName(what, key)} must be ${expected}, got ${describeValue(v)}`);
  }
  return v;
}

/** An array of any length of finite numbers that pass `check`; `expected` describes one. */
export function readNumbers(
  json: Record<string, unknown>,
  key: string,
  what: string,
  check?: (v: number) => boolean,
  expected = 'a finite number',
): number[] {
  const v = json[key];
  if (!Array.isArray(v)) {
    throw new ValueError(`${fieldName(what, key)} must be an array of numbers, got ${describeValue(v)}`);
  }
  const bad = v.findIndex((x) => !isNumber(x, check));
  if (bad >= 0) {
    throw new ValueError(`${fieldName(what, key)}[${bad}] must be ${expected}, got ${describeValue(v[bad])}`);
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
      `${fieldName(what, key)} must be an integer ≥ ${min} or a pair [h, w] of them, got ${describeValue(v)}`,
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
      `${fieldName(what, key)} must be a positive integer or a non-empty list of them, got ${describeValue(v)}`,
    );
  }
  return list as number[];
}

/**
 * A nested array of finite numbers of exactly `shape` ([] a bare number), as a
 * Tensor; the first misfit is named by its index path, e.g. `weight[3][0]`.
 */
export function readTensor(json: Record<string, unknown>, key: string, what: string, shape: Shape): Tensor {
  return asTensor(json[key], key, what, shape);
}

/**
 * readTensor of a `value` that is not a field of its own, e.g. one entry of
 * a list: `key` names it within `what`, e.g. "eigenvalues[1]".
 */
export function asTensor(value: unknown, key: string, what: string, shape: Shape): Tensor {
  const data = new Float64Array(sizeOf(shape));
  let offset = 0;
  const visit = (v: unknown, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (!isNumber(v)) {
        throw new ValueError(`${fieldName(what, path)} must be a finite number, got ${describeValue(v)}`);
      }
      data[offset++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      throw new ShapeError(
        `${fieldName(what, path)} must be an array of length ${shape[axis]} (${key} is ${shapeString(shape)}), got ${describeValue(v)}`,
      );
    }
    for (let i = 0; i < v.length; i++) visit(v[i], axis + 1, `${path}[${i}]`);
  };
  visit(value, 0, key);
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
