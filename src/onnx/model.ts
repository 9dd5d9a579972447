/**
 * ONNX messages, decoded.
 *
 * An ONNX file is one protobuf ModelProto. Of its schema (onnx/onnx.proto)
 * we decode the parts a feed-forward network lives in:
 *
 *   ModelProto          ir_version 1, producer_name 2, producer_version 3,
 *                       graph 7, opset_import 8
 *   OperatorSetIdProto  domain 1, version 2
 *   GraphProto          node 1, name 2, initializer 5, input 11, output 12,
 *                       value_info 13
 *   NodeProto           input 1, output 2, name 3, op_type 4, attribute 5,
 *                       doc_string 6, domain 7
 *   AttributeProto      name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20
 *   ValueInfoProto      name 1, type 2 → TypeProto.tensor_type 1 →
 *                       elem_type 1, shape 2 → TensorShapeProto.dim 1 →
 *                       dim_value 1 | dim_param 2
 *   TensorProto         dims 1, data_type 2, float_data 4, int32_data 5,
 *                       int64_data 7, name 8, raw_data 9, double_data 10,
 *                       data_location 14
 *
 * Every other field is skipped by its wire type. Tensor values of type FLOAT,
 * DOUBLE, INT64, INT32 (and the small integer types and BOOL through raw_data)
 * become a Float64Array, whichever field holds them; raw_data is
 * little-endian. A tensor whose element count does not match its dims, whose
 * data is stored outside the file, or of another type (float16, strings) has
 * no values and says why when they are asked for.
 */
import { OnnxError } from './errors.js';
import { type FieldKey, ProtoReader, WIRE_FIXED32, WIRE_LENGTH, WIRE_VARINT } from './protobuf.js';

/** TensorProto.DataType codes used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
};

export function dataTypeName(code: number): string {
  return DATA_TYPE_NAMES[code] ?? `type ${code}`;
}

/** A decoded TensorProto: its values as float64, or why there are none. */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  /** Row-major values converted to float64; null when `problem` says why not. */
  readonly values: Float64Array | null;
  readonly problem: string | null;
}

export type AttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'other'; readonly value: null };

interface OnnxAttribute {
  readonly name: string;
  readonly value: AttributeValue;
}

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
  readonly docString: string;
}

/** A dimension: a number, a symbolic name, or unknown (null). */
type OnnxDim = number | string | null;

interface OnnxValueInfo {
  readonly name: string;
  /** The tensor element type, 0 when absent. */
  readonly elemType: number;
  /** The dims, or null when the type gives no shape. */
  readonly shape: readonly OnnxDim[] | null;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly valueInfo: readonly OnnxValueInfo[];
}

interface OnnxOpset {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly opsetImport: readonly OnnxOpset[];
  readonly graph: OnnxGraph;
}

/** Decode a ModelProto; an OnnxError on bytes that are not one, or one without a graph. */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new OnnxError(`decodeModel: expected the file's bytes as a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length === 0) throw new OnnxError('decodeModel: the file is empty');
  const r = new ProtoReader(bytes, 'ModelProto');
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  const opsetImport: OnnxOpset[] = [];
  let graph: OnnxGraph | null = null;
  while (!r.done) {
    const k = r.key();
    switch (k.field) {
      case 1:
        r.expect(k, WIRE_VARINT, 'ir_version');
        irVersion = r.int64('ir_version');
        break;
      case 2:
        r.expect(k, WIRE_LENGTH, 'producer_name');
        producerName = r.string('producer_name');
        break;
      case 3:
        r.expect(k, WIRE_LENGTH, 'producer_version');
        producerVersion = r.string('producer_version');
        break;
      case 7:
        r.expect(k, WIRE_LENGTH, 'graph');
        graph = decodeGraph(r.message('ModelProto.graph'));
        break;
      case 8:
        r.expect(k, WIRE_LENGTH, 'opset_import');
        opsetImport.push(decodeOpset(r.message(`ModelProto.opset_import[${opsetImport.length}]`)));
        break;
      default:
        r.skip(k);
    }
  }
  if (graph === null) throw new OnnxError('ModelProto: the model has no graph (field 7)');
  return { irVersion, producerName, producerVersion, opsetImport, graph };
}

function decodeOpset(r: ProtoReader): OnnxOpset {
  let domain = '';
  let version = 0;
  while (!r.done) {
    const k = r.key();
    if (k.field === 1) {
      r.expect(k, WIRE_LENGTH, 'domain');
      domain = r.string('domain');
    } else if (k.field === 2) {
      r.expect(k, WIRE_VARINT, 'version');
      version = r.int64('version');
    } else r.skip(k);
  }
  return { domain, version };
}

function decodeGraph(r: ProtoReader): OnnxGraph {
  let name = '';
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const valueInfo: OnnxValueInfo[] = [];
  const path = r.path;
  while (!r.done) {
    const k = r.key();
    switch (k.field) {
      case 1:
        r.expect(k, WIRE_LENGTH, 'node');
        nodes.push(decodeNode(r.message(`${path}.node[${nodes.length}]`)));
        break;
      case 2:
        r.expect(k, WIRE_LENGTH, 'name');
        name = r.string('name');
        break;
      case 5:
        r.expect(k, WIRE_LENGTH, 'initializer');
        initializers.push(decodeTensor(r.message(`${path}.initializer[${initializers.length}]`)));
        break;
      case 11:
        r.expect(k, WIRE_LENGTH, 'input');
        inputs.push(decodeValueInfo(r.message(`${path}.input[${inputs.length}]`)));
        break;
      case 12:
        r.expect(k, WIRE_LENGTH, 'output');
        outputs.push(decodeValueInfo(r.message(`${path}.output[${outputs.length}]`)));
        break;
      case 13:
        r.expect(k, WIRE_LENGTH, 'value_info');
        valueInfo.push(decodeValueInfo(r.message(`${path}.value_info[${valueInfo.length}]`)));
        break;
      default:
        r.skip(k);
    }
  }
  return { name, nodes, initializers, inputs, outputs, valueInfo };
}

function decodeNode(r: ProtoReader): OnnxNode {
  let name = '';
  let opType = '';
  let domain = '';
  let docString = '';
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: OnnxAttribute[] = [];
  while (!r.done) {
    const k = r.key();
    switch (k.field) {
      case 1:
        r.expect(k, WIRE_LENGTH, 'input');
        inputs.push(r.string('input'));
        break;
      case 2:
        r.expect(k, WIRE_LENGTH, 'output');
        outputs.push(r.string('output'));
        break;
      case 3:
        r.expect(k, WIRE_LENGTH, 'name');
        name = r.string('name');
        break;
      case 4:
        r.expect(k, WIRE_LENGTH, 'op_type');
        opType = r.string('op_type');
        break;
      case 5:
        r.expect(k, WIRE_LENGTH, 'attribute');
        attributes.push(decodeAttribute(r.message(`${r.path}.attribute[${attributes.length}]`)));
        break;
      case 6:
        r.expect(k, WIRE_LENGTH, 'doc_string');
        docString = r.string('doc_string');
        break;
      case 7:
        r.expect(k, WIRE_LENGTH, 'domain');
        domain = r.string('domain');
        break;
      default:
        r.skip(k);
    }
  }
  return { name, opType, domain, inputs, outputs, attributes, docString };
}

function decodeAttribute(r: ProtoReader): OnnxAttribute {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: OnnxTensor | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  let sawFloats = false;
  let sawInts = false;
  while (!r.done) {
    const k = r.key();
    switch (k.field) {
      case 1:
        r.expect(k, WIRE_LENGTH, 'name');
        name = r.string('name');
        break;
      case 2:
        r.expect(k, WIRE_FIXED32, 'f');
        f = r.float32('f');
        break;
      case 3:
        r.expect(k, WIRE_VARINT, 'i');
        i = r.int64('i');
        break;
      case 4:
        r.expect(k, WIRE_LENGTH, 's');
        s = r.string('s');
        break;
      case 5:
        r.expect(k, WIRE_LENGTH, 't');
        t = decodeTensor(r.message(`${r.path}.t`));
        break;
      case 7:
        r.repeatedFloat32(k, 'floats', floats);
        sawFloats = true;
        break;
      case 8:
        r.repeatedInt64(k, 'ints', ints);
        sawInts = true;
        break;
      case 20:
        r.expect(k, WIRE_VARINT, 'type');
        type = r.int64('type');
        break;
      default:
        r.skip(k);
    }
  }
  // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7. Before IR 2
  // there was no `type`, so fall back on which field is present.
  let value: AttributeValue;
  if ((type === 1 || type === 0) && f !== undefined) value = { kind: 'float', value: f };
  else if ((type === 2 || type === 0) && i !== undefined) value = { kind: 'int', value: i };
  else if ((type === 3 || type === 0) && s !== undefined) value = { kind: 'string', value: s };
  else if ((type === 4 || type === 0) && t !== undefined) value = { kind: 'tensor', value: t };
  else if (type === 6 || (type === 0 && sawFloats)) value = { kind: 'floats', value: floats };
  else if (type === 7 || (type === 0 && sawInts)) value = { kind: 'ints', value: ints };
  else if (type === 1) value = { kind: 'float', value: 0 };
  else if (type === 2) value = { kind: 'int', value: 0 };
  else if (type === 3) value = { kind: 'string', value: '' };
  else value = { kind: 'other', value: null };
  return { name, value };
}

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  let name = '';
  let elemType = 0;
  let shape: OnnxDim[] | null = null;
  while (!r.done) {
    const k = r.key();
    if (k.field === 1) {
      r.expect(k, WIRE_LENGTH, 'name');
      name = r.string('name');
    } else if (k.field === 2) {
      r.expect(k, WIRE_LENGTH, 'type');
      const type = r.message(`${r.path}.type`);
      while (!type.done) {
        const tk = type.key();
        if (tk.field === 1) {
          type.expect(tk, WIRE_LENGTH, 'tensor_type');
          const tensorType = type.message(`${type.path}.tensor_type`);
          while (!tensorType.done) {
            const kk = tensorType.key();
            if (kk.field === 1) {
              tensorType.expect(kk, WIRE_VARINT, 'elem_type');
              elemType = tensorType.int64('elem_type');
            } else if (kk.field === 2) {
              tensorType.expect(kk, WIRE_LENGTH, 'shape');
              shape = decodeShape(tensorType.message(`${tensorType.path}.shape`));
            } else tensorType.skip(kk);
          }
        } else type.skip(tk);
      }
    } else r.skip(k);
  }
  return { name, elemType, shape };
}

function decodeShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  while (!r.done) {
    const k = r.key();
    if (k.field !== 1) {
      r.skip(k);
      continue;
    }
    r.expect(k, WIRE_LENGTH, 'dim');
    const d = r.message(`${r.path}.dim[${dims.length}]`);
    let dim: OnnxDim = null;
    while (!d.done) {
      const dk = d.key();
      if (dk.field === 1) {
        d.expect(dk, WIRE_VARINT, 'dim_value');
        dim = d.int64('dim_value');
      } else if (dk.field === 2) {
        d.expect(dk, WIRE_LENGTH, 'dim_param');
        dim = d.string('dim_param');
      } else d.skip(dk);
    }
    dims.push(dim);
  }
  return dims;
}

function decodeTensor(r: ProtoReader): OnnxTensor {
  let name = '';
  const dims: number[] = [];
  let dataType = 0;
  let raw: Uint8Array | null = null;
  let external = false;
  const floatData: number[] = [];
  const doubleData: number[] = [];
  const int32Data: number[] = [];
  const int64Data: number[] = [];
  while (!r.done) {
    const k: FieldKey = r.key();
    switch (k.field) {
      case 1:
        r.repeatedInt64(k, 'dims', dims);
        break;
      case 2:
        r.expect(k, WIRE_VARINT, 'data_type');
        dataType = r.int64('data_type');
        break;
      case 4:
        r.repeatedFloat32(k, 'float_data', floatData);
        break;
      case 5:
        r.repeatedInt64(k, 'int32_data', int32Data);
        break;
      case 7:
        r.repeatedInt64(k, 'int64_data', int64Data);
        break;
      case 8:
        r.expect(k, WIRE_LENGTH, 'name');
        name = r.string('name');
        break;
      case 9:
        r.expect(k, WIRE_LENGTH, 'raw_data');
        raw = r.bytesField('raw_data');
        break;
      case 10:
        r.repeatedFloat64(k, 'double_data', doubleData);
        break;
      case 14:
        r.expect(k, WIRE_VARINT, 'data_location');
        external = r.int64('data_location') === 1;
        break;
      default:
        r.skip(k);
    }
  }
  const label = `${r.path}${name ? ` ('${name}')` : ''}`;
  const none = (problem: string): OnnxTensor => ({ name, dims, dataType, values: null, problem });
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) return none(`${label} has a dimension ${d}`);
    count *= d;
  }
  if (!Number.isSafeInteger(count)) return none(`${label} has dims [${dims.join(', ')}], too many elements`);
  if (external) {
    return none(`${label} keeps its data outside the file; save the model with its weights inside`);
  }
  const typeName = dataTypeName(dataType);
  let values: number[] | Float64Array | null = null;
  if (raw !== null) {
    const width = RAW_WIDTH[dataType];
    if (width === undefined) return none(`${label} has raw data of type ${typeName}, which is not supported`);
    if (raw.length !== count * width) {
      return none(
        `${label} has ${raw.length} bytes of raw data, but dims [${dims.join(', ')}] of ${typeName} need ${count * width}`,
      );
    }
    values = decodeRaw(raw, dataType, count);
  } else if (dataType === DataType.FLOAT) values = floatData;
  else if (dataType === DataType.DOUBLE) values = doubleData;
  else if (dataType === DataType.INT64) values = int64Data;
  else if (
    dataType === DataType.INT32 ||
    dataType === DataType.INT16 ||
    dataType === DataType.INT8 ||
    dataType === DataType.UINT16 ||
    dataType === DataType.UINT8 ||
    dataType === DataType.BOOL
  ) {
    values = int32Data;
  } else return none(`${label} is of type ${typeName}, which is not supported`);
  if (values.length !== count) {
    return none(`${label} holds ${values.length} values, but dims [${dims.join(', ')}] need ${count}`);
  }
  return { name, dims, dataType, values: Float64Array.from(values), problem: null };
}

/** Bytes per element of the types read from raw_data. */
const RAW_WIDTH: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
  [DataType.INT16]: 2,
  [DataType.INT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.UINT8]: 1,
  [DataType.BOOL]: 1,
};

function decodeRaw(raw: Uint8Array, dataType: number, count: number): Float64Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (dataType) {
      case DataType.FLOAT:
        out[i] = view.getFloat32(4 * i, true);
        break;
      case DataType.DOUBLE:
        out[i] = view.getFloat64(8 * i, true);
        break;
      case DataType.INT64: {
        // exact while |v| ≤ 2⁵³; shapes and indices are far below that
        const lo = view.getUint32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        out[i] = hi * 4294967296 + lo;
        break;
      }
      case DataType.INT32:
        out[i] = view.getInt32(4 * i, true);
        break;
      case DataType.INT16:
        out[i] = view.getInt16(2 * i, true);
        break;
      case DataType.UINT16:
        out[i] = view.getUint16(2 * i, true);
        break;
      case DataType.INT8:
        out[i] = view.getInt8(i);
        break;
      default:
        out[i] = view.getUint8(i);
    }
  }
  return out;
}

/** A tensor's values, or an OnnxError saying why it has none; `what` names the use. */
export function tensorValues(t: OnnxTensor, what: string): Float64Array {
  if (t.values === null) throw new OnnxError(`${what}: ${t.problem}`);
  return t.values;
}
