/** ONNX: import a network exported by PyTorch or Keras, and export one. */
export { OnnxError } from './errors.js';
export { type ExportOptions, exportOnnx } from './export.js';
export { ONNX_MAX_OPSET, ONNX_MIN_OPSET, ONNX_SUPPORTED_OPS } from './graph.js';
export { importOnnx, importOnnxWithNotes, type OnnxImport } from './import.js';
