/**
 * Architecture strings: a network written on one line, as a command line takes it,
 *
 *   conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,maxpool(2),flatten,linear(10)
 *
 * parsed into plain layer specs (the JSON form of each layer, without weights)
 * and checked against an input shape. The grammar:
 *
 *   architecture := layer (',' layer)*
 *   layer        := name [ '(' [argument (',' argument)*] ')' ]
 *   argument     := value | key '=' value
 *
 * Names and keys ignore case and underscores (`MaxPool2d`, `kernel_size`);
 * positional arguments follow PyTorch's constructor order without the input
 * size, which is inferred. The input shape of one example, [C, H, W] for images
 * or [F] for features, is carried through the layers with PyTorch's formulas
 * (floor division, `ceil_mode=False`):
 *
 *   conv2d     H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1,   C' = outChannels
 *   maxpool2d  H' = ⌊(H + 2p − (k − 1) − 1)/s⌋ + 1     (p ≤ k/2)
 *   avgpool2d  H' = ⌊(H + 2p − k)/s⌋ + 1               (p ≤ k/2)
 *   flatten    [C, H, W] ↦ [C·H·W]
 *   linear     [F] ↦ [outFeatures]
 *
 * (the same for W), which fills in each layer's input size: `inChannels` of a
 * convolution, `inFeatures` of a linear layer, `numFeatures` of a batch norm
 * (batchnorm2d over the channels of an image, batchnorm1d over flat features).
 * An architecture that does not fit its input, such as a feature map shrinking
 * to nothing or a linear layer on an unflattened image, is a ShapeError naming
 * the layer, where it is in the string, and the shapes; a misspelt layer or a
 * bad argument is an `ArchitectureError` naming the token and its column.
 */
import { ShapeError, ValueError } from '../errors.js';
import { convOutputSize } from '../kernels/conv.js';

/** The activations an architecture string may name (those of `laplace-ts/nn`). */
type ActivationType = 'relu' | 'tanh' | 'sigmoid' | 'gelu' | 'softplus' | 'identity';

/** One layer as written: its JSON `type` and options, without the input sizes that depend on what precedes it. */
export type LayerSpec =
  | {
      type: 'conv2d';
      outChannels: number;
      kernelSize: number;
      stride: number;
      padding: number;
      dilation: number;
      groups: number;
      bias: boolean;
    }
  | { type: 'maxpool2d'; kernelSize: number; stride: number; padding: number }
  | { type: 'avgpool2d'; kernelSize: number; stride: number; padding: number }
  | { type: 'flatten' }
  | { type: 'linear'; outFeatures: number; bias: boolean }
  | { type: 'batchnorm2d' }
  | { type: 'batchnorm1d' }
  | { type: 'dropout'; p: number }
  | { type: 'leakyrelu'; negativeSlope: number }
  | { type: 'elu'; alpha: number }
  | { type: ActivationType };

/** A layer with its input size filled in, ready to be built. */
export type ResolvedLayerSpec =
  | (Extract<LayerSpec, { type: 'conv2d' }> & { inChannels: number })
  | (Extract<LayerSpec, { type: 'linear' }> & { inFeatures: number })
  | (Extract<LayerSpec, { type: 'batchnorm2d' | 'batchnorm1d' }> & { numFeatures: number })
  | Exclude<LayerSpec, { type: 'conv2d' | 'linear' | 'batchnorm2d' | 'batchnorm1d' }>;

/** Layers with their input sizes, and the shape of one example between them. */
export interface ResolvedArchitecture {
  inputShape: number[];
  layers: ResolvedLayerSpec[];
  /** `shapes[i]` is what layer i takes, `shapes[layers.length]` what the network returns. */
  shapes: number[][];
  outputShape: number[];
}

/** A syntax error in an architecture string: the offending `token` and its 1-based `column`. */
export class ArchitectureError extends ValueError {
  override name = 'ArchitectureError';
  readonly column: number;
  readonly token: string;
  constructor(message: string, details: { column: number; token: string }) {
    super(message);
    this.column = details.column;
    this.token = details.token;
  }
}

type Kind = 'count' | 'size' | 'probability' | 'number' | 'boolean';

interface Parameter {
  name: string;
  /** Keys it may be given by besides its name (compared without case and underscores). */
  aliases?: readonly string[];
  kind: Kind;
  /** Default, or a function of the values given so far; absent when required. */
  fallback?: number | boolean | ((values: Record<string, number | boolean>) => number | boolean);
}

interface LayerGrammar {
  type: LayerSpec['type'];
  names: readonly string[];
  parameters: readonly Parameter[];
}

const POOL_PARAMETERS: readonly Parameter[] = [
  { name: 'kernelSize', kind: 'count' },
  { name: 'stride', kind: 'count', fallback: (v) => v['kernelSize']! },
  { name: 'padding', aliases: ['pad'], kind: 'size', fallback: 0 },
];

const GRAMMAR: readonly LayerGrammar[] = [
  {
    type: 'conv2d',
    names: ['conv', 'conv2d'],
    parameters: [
      { name: 'outChannels', kind: 'count' },
      { name: 'kernelSize', kind: 'count' },
      { name: 'stride', kind: 'count', fallback: 1 },
      { name: 'padding', aliases: ['pad'], kind: 'size', fallback: 0 },
      { name: 'dilation', kind: 'count', fallback: 1 },
      { name: 'groups', kind: 'count', fallback: 1 },
      { name: 'bias', kind: 'boolean', fallback: true },
    ],
  },
  { type: 'maxpool2d', names: ['maxpool', 'maxpool2d'], parameters: POOL_PARAMETERS },
  { type: 'avgpool2d', names: ['avgpool', 'avgpool2d'], parameters: POOL_PARAMETERS },
  { type: 'flatten', names: ['flatten'], parameters: [] },
  {
    type: 'linear',
    names: ['linear'],
    parameters: [
      { name: 'outFeatures', kind: 'count' },
      { name: 'bias', kind: 'boolean', fallback: true },
    ],
  },
  { type: 'batchnorm2d', names: ['batchnorm', 'batchnorm2d'], parameters: [] },
  { type: 'batchnorm1d', names: ['batchnorm1d'], parameters: [] },
  { type: 'dropout', names: ['dropout'], parameters: [{ name: 'p', kind: 'probability', fallback: 0.5 }] },
  {
    type: 'leakyrelu',
    names: ['leakyrelu'],
    parameters: [{ name: 'negativeSlope', kind: 'number', fallback: 0.01 }],
  },
  { type: 'elu', names: ['elu'], parameters: [{ name: 'alpha', kind: 'number', fallback: 1 }] },
  ...(['relu', 'tanh', 'sigmoid', 'gelu', 'softplus', 'identity'] as const).map(
    (type): LayerGrammar => ({ type, names: [type], parameters: [] }),
  ),
];

/** Names and keys are compared without case and underscores. */
function normal(word: string): string {
  return word.toLowerCase().replaceAll('_', '');
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(kind: Kind): string {
  switch (kind) {
    case 'count':
      return 'a positive integer';
    case 'size':
      return 'a non-negative integer';
    case 'probability':
      return 'a number in [0, 1)';
    case 'number':
      return 'a finite number';
    case 'boolean':
      return 'true or false';
  }
}

function parseValue(text: string, kind: Kind): number | boolean | undefined {
  if (kind === 'boolean') {
    const word = text.toLowerCase();
    return word === 'true' ? true : word === 'false' ? false : undefined;
  }
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  switch (kind) {
    case 'count':
      return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
    case 'size':
      return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    case 'probability':
      return value >= 0 && value < 1 ? value : undefined;
    case 'number':
      return Number.isFinite(value) ? value : undefined;
  }
}

/** A layer as found in the string: its spec, its text and the column it starts at. */
interface Located {
  spec: LayerSpec;
  text: string;
  column: number;
}

function fail(message: string, column: number, token: string): never {
  throw new ArchitectureError(`architecture: ${message}`, { column, token });
}

function parseLocated(text: string): Located[] {
  const layers: Located[] = [];
  let at = 0;
  const skipSpaces = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  for (;;) {
    skipSpaces();
    const start = at;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at))?.[0];
    if (name === undefined) {
      const token = text.slice(at).split(/[,()\s]/)[0] || (text[at] ?? '');
      if (at >= text.length) {
        fail(
          layers.length === 0 ? 'empty architecture' : `a layer is missing after the comma at column ${at}`,
          at + 1,
          '',
        );
      }
      fail(`expected a layer name at column ${at + 1}, found ${JSON.stringify(token)}`, at + 1, token);
    }
    at += name.length;
    const grammar = GRAMMAR.find((g) => g.names.includes(normal(name)));
    if (grammar === undefined) {
      const known = GRAMMAR.map((g) => g.names[0]).join(', ');
      fail(`unknown layer ${JSON.stringify(name)} at column ${start + 1} (known: ${known})`, start + 1, name);
    }
    skipSpaces();
    const args: { key: string | undefined; value: string; column: number; token: string }[] = [];
    if (text[at] === '(') {
      const open = at;
      at++;
      skipSpaces();
      if (text[at] === ')') at++;
      else {
        for (;;) {
          skipSpaces();
          const argStart = at;
          while (at < text.length && !',()'.includes(text[at]!)) at++;
          const token = text.slice(argStart, at).trim();
          if (at >= text.length) fail(`unclosed "(" of ${name} at column ${open + 1}`, open + 1, name);
          if (text[at] === '(') fail(`unexpected "(" at column ${at + 1} inside ${name}(…)`, at + 1, '(');
          if (token === '') fail(`empty argument of ${name} at column ${argStart + 1}`, argStart + 1, '');
          const eq = token.indexOf('=');
          args.push({
            key: eq < 0 ? undefined : token.slice(0, eq).trim(),
            value: eq < 0 ? token : token.slice(eq + 1).trim(),
            column: argStart + 1,
            token,
          });
          if (text[at] === ')') {
            at++;
            break;
          }
          at++; // the comma
        }
      }
    }
    layers.push({
      spec: buildSpec(grammar, name, start + 1, args),
      text: text.slice(start, at).trim(),
      column: start + 1,
    });
    skipSpaces();
    if (at >= text.length) return layers;
    if (text[at] !== ',') {
      const token = text.slice(at).split(/[,\s]/)[0]!;
      fail(`expected "," after ${name} at column ${at + 1}, found ${JSON.stringify(token)}`, at + 1, token);
    }
    at++;
  }
}

function buildSpec(
  grammar: LayerGrammar,
  name: string,
  column: number,
  args: readonly { key: string | undefined; value: string; column: number; token: string }[],
): LayerSpec {
  const { parameters } = grammar;
  const values: Record<string, number | boolean> = {};
  let positional = 0;
  let seenKeyword = false;
  const takes =
    parameters.length === 0
      ? 'takes no arguments'
      : `takes ${parameters.map((p) => (p.aliases ? `${p.name} (${p.aliases.join(', ')})` : p.name)).join(', ')}`;
  for (const arg of args) {
    let parameter: Parameter | undefined;
    if (arg.key === undefined) {
      if (seenKeyword) {
        fail(
          `positional argument ${JSON.stringify(arg.token)} at column ${arg.column} follows a keyword argument in ${name}`,
          arg.column,
          arg.token,
        );
      }
      parameter = parameters[positional++];
      if (parameter === undefined) {
        fail(
          `too many arguments to ${name}: ${JSON.stringify(arg.token)} at column ${arg.column}; ${name} ${takes}`,
          arg.column,
          arg.token,
        );
      }
    } else {
      seenKeyword = true;
      const key = normal(arg.key);
      parameter = parameters.find(
        (p) => normal(p.name) === key || (p.aliases ?? []).some((a) => normal(a) === key),
      );
      if (parameter === undefined) {
        fail(
          `unknown argument ${JSON.stringify(arg.key)} of ${name} at column ${arg.column}; ${name} ${takes}`,
          arg.column,
          arg.token,
        );
      }
    }
    if (parameter.name in values) {
      fail(`${parameter.name} of ${name} given twice, again at column ${arg.column}`, arg.column, arg.token);
    }
    const value = parseValue(arg.value, parameter.kind);
    if (value === undefined) {
      fail(
        `${parameter.name} of ${name} must be ${describe(parameter.kind)}, got ${JSON.stringify(arg.value)} at column ${arg.column}`,
        arg.column,
        arg.token,
      );
    }
    values[parameter.name] = value;
  }
  for (const parameter of parameters) {
    if (parameter.name in values) continue;
    const { fallback } = parameter;
    if (fallback === undefined) {
      fail(`${name} at column ${column} needs ${parameter.name}; ${name} ${takes}`, column, name);
    }
    values[parameter.name] = typeof fallback === 'function' ? fallback(values) : fallback;
  }
  const spec: Record<string, number | boolean | string> = { type: grammar.type };
  for (const parameter of parameters) spec[parameter.name] = values[parameter.name]!;
  return spec as LayerSpec;
}

/** Parse an architecture string into layer specs; an `ArchitectureError` naming the token and column when it is malformed. */
export function parseArchitecture(text: string): LayerSpec[] {
  return parseLocated(text).map((layer) => layer.spec);
}

/** The canonical string of `layers`: short names, positional required arguments, keywords only where not the default. */
export function formatArchitecture(layers: readonly LayerSpec[]): string {
  return layers
    .map((spec) => {
      const grammar = GRAMMAR.find((g) => g.type === spec.type);
      if (grammar === undefined)
        throw new ValueError(`formatArchitecture: unknown layer type ${JSON.stringify(spec.type)}`);
      const fields = spec as unknown as Record<string, number | boolean>;
      const values: Record<string, number | boolean> = {};
      const args: string[] = [];
      for (const parameter of grammar.parameters) {
        const value = fields[parameter.name];
        if (value === undefined) {
          throw new ValueError(`formatArchitecture: ${spec.type} lacks ${parameter.name}`);
        }
        values[parameter.name] = value;
        const { fallback } = parameter;
        const byDefault = typeof fallback === 'function' ? fallback(values) : fallback;
        if (fallback === undefined) args.push(String(value));
        else if (value !== byDefault)
          args.push(`${parameter.aliases?.[0] ?? parameter.name}=${String(value)}`);
      }
      return args.length === 0 ? grammar.names[0]! : `${grammar.names[0]}(${args.join(',')})`;
    })
    .join(',');
}

/** "1,28,28" or "[1, 28, 28]" → [1, 28, 28]: the shape of one example, positive integers. */
export function parseInputShape(text: string): number[] {
  const inner = text.trim().replace(/^\[(.*)\]$/, '$1');
  const parts = inner.split(',').map((part) => part.trim());
  const shape = parts.map(Number);
  if (inner.trim() === '' || parts.some((part) => !/^\d+$/.test(part)) || shape.some((s) => s < 1)) {
    throw new ValueError(
      `input shape must be comma-separated positive integers such as 1,28,28, got ${JSON.stringify(text)}`,
    );
  }
  return shape;
}

const show = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Carry `inputShape` (one example's) through `layers`, filling in each layer's
 * input size; a ShapeError naming the layer when it does not fit what it gets.
 * `where(i)` names layer i in errors (by default its canonical text and index).
 */
export function inferShapes(
  layers: readonly LayerSpec[],
  inputShape: readonly number[],
  where: (index: number) => string = (i) => `layer ${i + 1} (${formatArchitecture([layers[i]!])})`,
): ResolvedArchitecture {
  if (inputShape.length === 0 || inputShape.some((s) => !Number.isSafeInteger(s) || s < 1)) {
    throw new ShapeError(`architecture: the input shape must be positive integers, got ${show(inputShape)}`);
  }
  let shape = [...inputShape];
  const shapes: number[][] = [shape];
  const resolved: ResolvedLayerSpec[] = [];
  layers.forEach((spec, i) => {
    const misfit = (why: string): never => {
      throw new ShapeError(`architecture: ${where(i)} gets ${show(shape)}: ${why}`);
    };
    const image = (what: string): [number, number, number] => {
      if (shape.length !== 3) misfit(`${what} needs an image [C, H, W]`);
      return shape as [number, number, number];
    };
    // The output [nextC, H', W'] of a window spanning `span` pixels, slid over the input padded by `padding`.
    const windowed = (
      h: number,
      w: number,
      padding: number,
      span: number,
      nextC: number,
      out: (n: number) => number,
    ) => {
      const next = [nextC, out(h), out(w)];
      if (next[1]! < 1 || next[2]! < 1) {
        misfit(
          `its window spans ${span}×${span} pixels, more than the ${h + 2 * padding}×${w + 2 * padding} padded input, so the output would be ${show(next)}`,
        );
      }
      return next;
    };
    switch (spec.type) {
      case 'conv2d': {
        const [c, h, w] = image('conv2d');
        if (c % spec.groups !== 0 || spec.outChannels % spec.groups !== 0) {
          misfit(
            `groups = ${spec.groups} must divide both its ${c} input and ${spec.outChannels} output channels`,
          );
        }
        const span = spec.dilation * (spec.kernelSize - 1) + 1;
        shape = windowed(h, w, spec.padding, span, spec.outChannels, (n) =>
          convOutputSize(n, spec.kernelSize, spec.stride, spec.padding, spec.dilation),
        );
        resolved.push({ ...spec, inChannels: c });
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const [c, h, w] = image(spec.type);
        if (2 * spec.padding > spec.kernelSize) {
          misfit(`padding ${spec.padding} must be at most half the kernel size ${spec.kernelSize}`);
        }
        shape = windowed(h, w, spec.padding, spec.kernelSize, c, (n) =>
          convOutputSize(n, spec.kernelSize, spec.stride, spec.padding, 1),
        );
        resolved.push({ ...spec });
        break;
      }
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        resolved.push({ ...spec });
        break;
      case 'linear':
        if (shape.length !== 1) misfit('linear needs a flat input [features]; put flatten before it');
        resolved.push({ ...spec, inFeatures: shape[0]! });
        shape = [spec.outFeatures];
        break;
      case 'batchnorm2d': {
        const [c] = image('batchnorm2d');
        resolved.push({ ...spec, numFeatures: c });
        break;
      }
      case 'batchnorm1d':
        if (shape.length !== 1) misfit('batchnorm1d needs a flat input [features]; put flatten before it');
        resolved.push({ ...spec, numFeatures: shape[0]! });
        break;
      default:
        resolved.push({ ...spec });
    }
    shapes.push(shape);
  });
  return { inputShape: [...inputShape], layers: resolved, shapes, outputShape: shape };
}

/** Parse `text` and carry `inputShape` through it: errors name each layer by its text and column in `text`. */
export function resolveArchitecture(text: string, inputShape: readonly number[]): ResolvedArchitecture {
  const located = parseLocated(text);
  return inferShapes(
    located.map((layer) => layer.spec),
    inputShape,
    (i) => `layer ${i + 1} (${located[i]!.text} at column ${located[i]!.column})`,
  );
}

/**
 * The number of trainable parameters of a resolved layer, as PyTorch counts
 * them: a convolution's (inChannels/groups)·k²·outChannels weights and
 * outChannels biases, a linear layer's in·out weights and out biases, a batch
 * norm's scale and shift per channel; none for the rest.
 */
export function parameterCount(layer: ResolvedLayerSpec): number {
  switch (layer.type) {
    case 'conv2d':
      return (
        (layer.inChannels / layer.groups) * layer.kernelSize * layer.kernelSize * layer.outChannels +
        (layer.bias ? layer.outChannels : 0)
      );
    case 'linear':
      return layer.inFeatures * layer.outFeatures + (layer.bias ? layer.outFeatures : 0);
    case 'batchnorm2d':
    case 'batchnorm1d':
      return 2 * layer.numFeatures;
    default:
      return 0;
  }
}

/** One line per layer, "conv(16,3,pad=1)  [1, 28, 28] → [16, 28, 28]  160 parameters", and a total. */
export function summarizeArchitecture(architecture: ResolvedArchitecture): string[] {
  const names = architecture.layers.map((layer) => formatArchitecture([layer]));
  const width = Math.max(...names.map((name) => name.length));
  const shapes = architecture.layers.map(
    (_, i) => `${show(architecture.shapes[i]!)} → ${show(architecture.shapes[i + 1]!)}`,
  );
  const shapeWidth = Math.max(...shapes.map((s) => s.length));
  const counts = architecture.layers.map(parameterCount);
  const lines = names.map((name, i) => {
    const count = counts[i]! > 0 ? `${counts[i]!.toLocaleString('en')} parameters` : '';
    return `${name.padEnd(width)}  ${shapes[i]!.padEnd(shapeWidth)}  ${count}`.trimEnd();
  });
  lines.push(`${counts.reduce((a, b) => a + b, 0).toLocaleString('en')} parameters in all`);
  return lines;
}
