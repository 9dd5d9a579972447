/**
 * IDX files: the format of MNIST and Fashion-MNIST.
 *
 * An IDX file is a header and an array. The header is the magic number, four
 * bytes 0x00 0x00 t d, where t codes the element type and d the number of
 * dimensions, then d dimension sizes as big-endian unsigned 32-bit integers.
 * The elements follow in row-major order (last index fastest), big-endian:
 *
 *   0x08 unsigned byte   0x09 signed byte   0x0B 16-bit int
 *   0x0C 32-bit int      0x0D 32-bit float  0x0E 64-bit float
 *
 * so a file holds exactly 4 + 4d + size(t)·Π dims bytes. The distributed files
 * are gzipped; `decodeIdx` recognises the gzip magic 0x1f 0x8b and inflates
 * with the web-standard `DecompressionStream` (Node ≥ 18, browsers, Deno, Bun),
 * which is asynchronous. Nothing here reads files: callers bring the bytes.
 *
 * `imageDataset` turns an image file ([N, H, W] unsigned bytes) and a label
 * file ([N] integers) into what a network takes: intensities v/255 ∈ [0, 1] as
 * float64 in NCHW layout [N, 1, H, W], and integer labels.
 */
import { ShapeError, ValueError } from '../errors.js';

/** The element types of IDX, by the name used in errors and `encodeIdx`. */
export type IdxType = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

/** The typed array each element type is read into. */
type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file: its element type, dimension sizes, and elements in row-major order. */
export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: IdxData;
}

interface TypeInfo {
  type: IdxType;
  code: number;
  bytes: number;
}

const TYPES: readonly TypeInfo[] = [
  { type: 'ubyte', code: 0x08, bytes: 1 },
  { type: 'byte', code: 0x09, bytes: 1 },
  { type: 'short', code: 0x0b, bytes: 2 },
  { type: 'int', code: 0x0c, bytes: 4 },
  { type: 'float', code: 0x0d, bytes: 4 },
  { type: 'double', code: 0x0e, bytes: 8 },
];

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Read an (uncompressed) IDX file. */
export function parseIdx(bytes: Uint8Array): IdxArray {
  if (bytes.length < 4) {
    throw new ValueError(
      `parseIdx: truncated file, the magic number needs 4 bytes and the file has ${bytes.length}`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (the bytes are gzipped: use decodeIdx)' : '';
    throw new ValueError(
      `parseIdx: wrong magic number, an IDX file starts with 0x00 0x00 and this one with ${hex(bytes[0]!)} ${hex(bytes[1]!)}${gzip}`,
    );
  }
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (info === undefined) {
    throw new ValueError(
      `parseIdx: unknown element type code ${hex(bytes[2]!)} in the magic number (known: ${TYPES.map((t) => `${hex(t.code)} ${t.type}`).join(', ')})`,
    );
  }
  const ndims = bytes[3]!;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new ValueError(
      `parseIdx: truncated file, the header of a ${ndims}-dimensional array needs ${headerBytes} bytes and the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * info.bytes;
  if (bytes.length < expected) {
    throw new ValueError(
      `parseIdx: truncated file, a ${info.type} array of shape [${shape.join(', ')}] needs ${expected} bytes and the file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new ValueError(
      `parseIdx: a ${info.type} array of shape [${shape.join(', ')}] takes ${expected} bytes but the file has ${bytes.length} (${bytes.length - expected} left over)`,
    );
  }
  return { type: info.type, shape, data: readElements(view, headerBytes, count, info) };
}

function readElements(view: DataView, offset: number, count: number, info: TypeInfo): IdxData {
  switch (info.type) {
    case 'ubyte':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'byte':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'short': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Write an IDX file. `data` is converted to `type` as a typed array of that
 * type would convert it (so values should already be representable).
 */
export function encodeIdx(array: {
  type: IdxType;
  shape: readonly number[];
  data: ArrayLike<number>;
}): Uint8Array {
  const { type, shape, data } = array;
  const info = TYPES.find((t) => t.type === type);
  if (info === undefined) {
    throw new ValueError(
      `encodeIdx: unknown type ${JSON.stringify(type)} (known: ${TYPES.map((t) => t.type).join(', ')})`,
    );
  }
  if (shape.length > 255)
    throw new ShapeError(`encodeIdx: IDX holds at most 255 dimensions, got ${shape.length}`);
  for (const size of shape) {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) {
      throw new ShapeError(
        `encodeIdx: dimension sizes must be integers in [0, 2³²), got [${shape.join(', ')}]`,
      );
    }
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new ShapeError(
      `encodeIdx: shape [${shape.join(', ')}] has ${count} elements and data has ${data.length}`,
    );
  }
  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = info.code;
  bytes[3] = shape.length;
  for (let i = 0; i < shape.length; i++) view.setUint32(4 + 4 * i, shape[i]!, false);
  for (let i = 0; i < count; i++) {
    const at = headerBytes + info.bytes * i;
    const v = data[i]!;
    switch (info.type) {
      case 'ubyte':
        view.setUint8(at, v);
        break;
      case 'byte':
        view.setInt8(at, v);
        break;
      case 'short':
        view.setInt16(at, v, false);
        break;
      case 'int':
        view.setInt32(at, v, false);
        break;
      case 'float':
        view.setFloat32(at, v, false);
        break;
      case 'double':
        view.setFloat64(at, v, false);
        break;
    }
  }
  return bytes;
}

/** The entries of `array` along its first axis at `indices`, in that order, of the same type. */
export function takeIdx(array: IdxArray, indices: readonly number[]): IdxArray {
  if (array.shape.length === 0)
    throw new ShapeError('takeIdx: a scalar (0-dimensional) array has no entries to take');
  const [n, ...rest] = array.shape as [number, ...number[]];
  const size = rest.reduce((a, b) => a * b, 1);
  const source = array.data as unknown as Float64Array;
  const data = new (array.data.constructor as Float64ArrayConstructor)(indices.length * size);
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ValueError(`takeIdx: index ${k} is ${index}, outside [0, ${n})`);
    }
    data.set(source.subarray(index * size, (index + 1) * size), k * size);
  });
  return { type: array.type, shape: [indices.length, ...rest], data: data as unknown as IdxData };
}

/** True when `bytes` start with the gzip magic number 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Push `bytes` through a web-standard (de)compression stream and collect what comes out. */
async function pipeThrough(
  bytes: Uint8Array,
  stream: { writable: WritableStream<BufferSource>; readable: ReadableStream<Uint8Array> },
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // The write's own rejection repeats the reader's; it is caught here so that it is not reported unhandled.
  const written = writer
    .write(bytes as Uint8Array<ArrayBuffer>)
    .then(() => writer.close())
    .catch(() => undefined);
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  await written;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Inflate gzip bytes. A ValueError when they are not valid gzip. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    return await pipeThrough(bytes, new DecompressionStream('gzip'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ValueError(`gunzip: corrupt gzip data (${bytes.length} bytes): ${reason}`);
  }
}

/** Deflate `bytes` into the gzip format. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeThrough(bytes, new CompressionStream('gzip'));
}

/** Read an IDX file that may be gzipped (as distributed): inflate when it starts with the gzip magic, then `parseIdx`. */
export async function decodeIdx(bytes: Uint8Array): Promise<IdxArray> {
  return parseIdx(isGzip(bytes) ? await gunzip(bytes) : bytes);
}

/** Images as a network takes them, with their labels. */
export interface ImageDataset {
  /** Intensities in [0, 1], NCHW: image n, channel c, row i, column j at ((n·C + c)·H + i)·W + j. */
  images: Float64Array;
  /** [N, C, H, W]. */
  shape: [number, number, number, number];
  labels: Int32Array;
}

/**
 * Pair an IDX image file ([N, H, W] or [N, C, H, W] unsigned bytes) with an
 * IDX label file ([N] integers): intensities become v/255 in float64 with a
 * channel axis of 1 added to [N, H, W]; labels are checked to be integers and,
 * given `nClasses`, to lie in [0, nClasses).
 */
export function imageDataset(
  images: IdxArray,
  labels: IdxArray,
  options: { nClasses?: number } = {},
): ImageDataset {
  if (images.type !== 'ubyte') {
    throw new ValueError(`imageDataset: images must be unsigned bytes (IDX type 0x08), got ${images.type}`);
  }
  let shape: [number, number, number, number];
  if (images.shape.length === 3) {
    const [n, h, w] = images.shape as [number, number, number];
    shape = [n, 1, h, w];
  } else if (images.shape.length === 4) {
    shape = images.shape as [number, number, number, number];
  } else {
    throw new ShapeError(
      `imageDataset: images must have shape [N, H, W] or [N, C, H, W], got [${images.shape.join(', ')}]`,
    );
  }
  if (labels.shape.length !== 1) {
    throw new ShapeError(`imageDataset: labels must have shape [N], got [${labels.shape.join(', ')}]`);
  }
  if (labels.shape[0] !== shape[0]) {
    throw new ShapeError(
      `imageDataset: the image file holds ${shape[0]} images and the label file ${labels.shape[0]} labels`,
    );
  }
  const { nClasses } = options;
  if (nClasses !== undefined && !(Number.isInteger(nClasses) && nClasses > 0)) {
    throw new ValueError(`imageDataset: nClasses must be a positive integer, got ${nClasses}`);
  }
  const labelValues = new Int32Array(labels.data.length);
  for (let i = 0; i < labels.data.length; i++) {
    const y = labels.data[i]!;
    if (!Number.isInteger(y) || y < 0 || (nClasses !== undefined && y >= nClasses)) {
      const range = nClasses === undefined ? 'a non-negative integer' : `an integer in [0, ${nClasses})`;
      throw new ValueError(`imageDataset: label ${i} is ${y}, expected ${range}`);
    }
    labelValues[i] = y;
  }
  const pixels = images.data;
  const out = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! / 255;
  return { images: out, shape, labels: labelValues };
}
