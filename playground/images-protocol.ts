/**
 * Messages between the image page and its Web Worker: the page posts a 28×28
 * image (intensities in [0, 1], row-major) with an id; the worker answers with
 * the MAP's and the linearised Laplace predictive's class probabilities and
 * their entropies, or an error, with the same id.
 */
export interface ImageRequest {
  id: number;
  pixels: number[];
}

export interface ClassProbabilities {
  probs: number[];
  /** H[p] = −Σₖ pₖ log pₖ, in nats. */
  entropy: number;
}

export type ImageReply =
  | { kind: 'ready'; classes: string[]; architecture: string; training: string; examples: ImageExample[] }
  | { kind: 'prediction'; id: number; map: ClassProbabilities; laplace: ClassProbabilities; ms: number }
  | { kind: 'error'; id: number; message: string };

/** A test image the page offers, intensities 0–255. */
export interface ImageExample {
  label: number;
  name: string;
  pixels: number[];
}
