/**
 * Layers from JSON.
 *
 * One table maps each JSON `type` to the function that rebuilds that layer,
 * checking every field. A new layer type adds one row here; nothing registers
 * itself. Layers that hold other layers (a residual block) receive
 * `layerFromJSON` itself to read their children.
 */
import { ValueError } from '../errors.js';
import { AdaptiveAvgPool2d } from './adaptive-avgpool2d.js';
import { AvgPool2d } from './avgpool2d.js';
import { BatchNorm1d, BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv2d.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { LayerNorm } from './layernorm.js';
import { ACTIVATION_NAMES, type ActivationName, activation, Linear } from './layers.js';
import { MaxPool2d } from './maxpool2d.js';
import type { Layer } from './module.js';
import { Residual } from './residual.js';

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
  conv2d: (spec, what) => Conv2d.fromJSON(spec, what),
  maxpool2d: (spec, what) => MaxPool2d.fromJSON(spec, what),
  avgpool2d: (spec, what) => AvgPool2d.fromJSON(spec, what),
  adaptiveavgpool2d: (spec, what) => AdaptiveAvgPool2d.fromJSON(spec, what),
  flatten: (spec, what) => Flatten.fromJSON(spec, what),
  batchnorm1d: (spec, what) => BatchNorm1d.fromJSON(spec, what),
  batchnorm2d: (spec, what) => BatchNorm2d.fromJSON(spec, what),
  layernorm: (spec, what) => LayerNorm.fromJSON(spec, what),
  dropout: (spec, what) => Dropout.fromJSON(spec, what),
  residual: (spec, what, readLayer) => Residual.fromJSON(spec, what, readLayer),
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
