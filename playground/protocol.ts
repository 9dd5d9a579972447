/**
 * Messages between the page and its Web Workers. The page posts a request
 * with an id; the worker answers with progress reports and then one result or
 * one error carrying the same id, so the page can ignore answers it no longer
 * wants.
 */
import type { DepthEvidence, FitResult, FitSettings, Point, Task } from './fit.js';

/** Work for a worker: one fit, or the evidence of depths 1..maxDepth. */
export type Work =
  | { kind: 'fit'; task: Task; points: Point[]; settings: FitSettings }
  | { kind: 'depth'; task: Task; points: Point[]; settings: FitSettings; maxDepth: number };

export type WorkerRequest = Work & { id: number };

export type WorkerReply =
  /** `fraction` in [0, 1], or null while a stage of unknown length runs. */
  | { kind: 'progress'; id: number; fraction: number | null; message: string }
  | { kind: 'fit'; id: number; result: FitResult }
  | { kind: 'depth'; id: number; results: DepthEvidence[] }
  | { kind: 'error'; id: number; message: string };
