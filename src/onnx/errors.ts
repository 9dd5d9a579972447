/**
 * The ONNX error.
 *
 * Everything that can go wrong between the bytes of a file and a network is
 * an `OnnxError`: bytes that are not protobuf (a truncated field, a bad wire
 * type, a length past the end), protobuf that is not a usable ONNX model (no
 * graph, two graph inputs, an opset out of range), and graphs that hold an
 * operator or a pattern this importer does not map to a layer. The message
 * says which, naming the message and field with its byte offset, or the node
 * with its op type.
 */
import { LaplaceTsError } from '../errors.js';

export class OnnxError extends LaplaceTsError {
  override name = 'OnnxError';
}
