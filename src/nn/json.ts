/**
 * Layers from JSON.
 *
 * One table maps each JSON `type` to the function that rebuilds that layer,
 * checking every field. A new layer type adds one row here; nothing registers
 * itself. Layers that hold other layers (a residual block) receive
 * `layerFromJSON` itself to read their children.
 */
import { ValueError } from '../errors.js';
import { ACTIVATION_NAMES, type ActivationName, activation, Linear } from './layers.js';
import type { Layer } from './module.js';

/** Rebuilds one layer from its JSON fields; `what` names it in errors, e.g. "Sequential.fromJSON: layers[2]". */
export type LayerReader = (
  spec: Record<string, unknown>,
  what: string,
  readLayer: (spec: unknown, what: string) => Layer,
) => Layer;

function finiteOption(spec: Record<string, unknown>, key: string, what: string): number | undefined {
  const v = spec[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ValueError(`${what}.${key} must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

const activationReader =
  (name: ActivationName): LayerReader =>
  (spec, what) => {
    const negativeSlope = finiteOption(spec, 'negativeSlope', what);
    const alpha = finiteOption(spec, 'alpha', what);
    return activation(name, {
      ...(negativeSlope !== undefined ? { negativeSlope } : {}),
      ...(alpha !== undefined ? { alpha } : {}),
    });
  };

/** Every layer type by its JSON `type`. */
export const LAYER_READERS: Readonly<Record<string, LayerReader>> = {
  linear: (spec, what) => Linear.fromJSON(spec, what),
  ...Object.fromEntries(ACTIVATION_NAMES.map((name) => [name, activationReader(name)])),
};

/** One layer from its JSON form; a ValueError naming `what` for an unknown type or a bad field. */
export function layerFromJSON(spec: unknown, what: string): Layer {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ValueError(`${what} is not an object`);
  }
  const fields = spec as Record<string, unknown>;
  const type = fields['type'];
  const reader = typeof type === 'string' ? LAYER_READERS[type] : undefined;
  if (reader === undefined || !Object.hasOwn(LAYER_READERS, type as string)) {
    throw new ValueError(
      `${what} has unknown type ${JSON.stringify(type)}; expected one of ${Object.keys(LAYER_READERS).join(', ')}`,
    );
  }
  return reader(fields, what, layerFromJSON);
}
