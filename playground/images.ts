/**
 * The image page: a 28×28 canvas to draw on (or a test image, rotated by the
 * slider), and, side by side, the class probabilities of the MAP network and
 * of its linearised Laplace predictive with their entropies. The network and
 * posterior live in a Web Worker (images-worker.ts); the page only draws.
 *
 * `window.imagesPlayground.state()` returns a plain copy of what is shown,
 * for tests; `#app` carries the status and both entropies as data attributes.
 */
import { rotateImages } from '../src/data/images.js';
import { barChart } from '../src/report/svg.js';
import type { ClassProbabilities, ImageExample, ImageReply, ImageRequest } from './images-protocol.js';

const SIZE = 28;

export interface ImagesSnapshot {
  status: 'loading' | 'running' | 'done' | 'error';
  /** Predictions shown so far. */
  count: number;
  example: number | null;
  rotation: number;
  /** Intensities in [0, 1] of the image the predictions are for. */
  pixels: number[];
  map: ClassProbabilities | null;
  laplace: ClassProbabilities | null;
  message: string;
}

declare global {
  interface Window {
    imagesPlayground?: { state(): ImagesSnapshot };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const app = $('app');
const canvas = $<HTMLCanvasElement>('draw');
const context = canvas.getContext('2d')!;
const exampleSelect = $<HTMLSelectElement>('example');
const rotate = $<HTMLInputElement>('rotate');

let classes: string[] = [];
let examples: ImageExample[] = [];
/** The strokes drawn, and the chosen test image (before rotation), as intensities in [0, 1]. */
let strokes = new Float64Array(SIZE * SIZE);
let example: number | null = null;
const state: ImagesSnapshot = {
  status: 'loading',
  count: 0,
  example: null,
  rotation: 0,
  pixels: [],
  map: null,
  laplace: null,
  message: 'Loading the model…',
};

/** What the network sees: the rotated test image, with the strokes on top. */
function currentPixels(): Float64Array {
  const pixels = new Float64Array(SIZE * SIZE);
  if (example !== null) {
    const base = Float64Array.from(examples[example]!.pixels, (v) => v / 255);
    const rotated = rotateImages(base, [1, 1, SIZE, SIZE], state.rotation).images;
    pixels.set(rotated);
  }
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(pixels[i]!, strokes[i]!);
  return pixels;
}

function paint(pixels: Float64Array): void {
  const image = context.createImageData(SIZE, SIZE);
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.round(255 * pixels[i]!);
    image.data.set([v, v, v, 255], 4 * i);
  }
  // Drawn at 28×28 and scaled up by the canvas's CSS size (pixelated).
  canvas.width = SIZE;
  canvas.height = SIZE;
  context.putImageData(image, 0, 0);
}

function bars(id: string, title: string, prediction: ClassProbabilities, color: string): void {
  $(id).innerHTML = barChart({
    title,
    categories: classes.map((c) => c.split('/')[0]!),
    series: [{ label: title, values: prediction.probs, color }],
    yDomain: [0, 1],
    yLabel: 'probability',
    width: 460,
    height: 300,
  });
}

function show(): void {
  app.dataset['status'] = state.status;
  $('status-text').textContent = state.message;
  if (state.map && state.laplace) {
    bars('map-bars', 'MAP', state.map, '#4c72b0');
    bars('laplace-bars', 'Laplace (glm, probit)', state.laplace, '#dd8452');
    $('map-entropy').textContent = `entropy ${state.map.entropy.toFixed(3)} nats`;
    $('laplace-entropy').textContent = `entropy ${state.laplace.entropy.toFixed(3)} nats`;
    app.dataset['mapEntropy'] = String(state.map.entropy);
    app.dataset['laplaceEntropy'] = String(state.laplace.entropy);
  }
}

// One request in flight; a change meanwhile is sent when the answer comes.
const worker = new Worker(new URL('./images-worker.ts', import.meta.url), { type: 'module' });
let nextId = 0;
let inFlight: number | null = null;
let pending = false;

function request(): void {
  const pixels = currentPixels();
  paint(pixels);
  if (state.status === 'loading') return;
  if (inFlight !== null) {
    pending = true;
    return;
  }
  inFlight = ++nextId;
  state.status = 'running';
  state.pixels = Array.from(pixels);
  state.example = example;
  app.dataset['status'] = 'running';
  worker.postMessage({ id: inFlight, pixels: state.pixels } satisfies ImageRequest);
}

worker.onmessage = (event: MessageEvent<ImageReply>) => {
  const reply = event.data;
  if (reply.kind === 'ready') {
    classes = reply.classes;
    examples = reply.examples;
    for (const [i, e] of examples.entries()) exampleSelect.add(new Option(`${e.name}`, String(i)));
    $('model-info').textContent = `${reply.architecture}. ${reply.training}.`;
    state.status = 'done';
    state.message = 'Ready.';
    show();
    request();
    return;
  }
  if (reply.id !== inFlight) return;
  inFlight = null;
  if (reply.kind === 'error') {
    state.status = 'error';
    state.message = reply.message;
  } else {
    state.status = 'done';
    state.count++;
    state.map = reply.map;
    state.laplace = reply.laplace;
    state.message = `Predicted in ${reply.ms.toFixed(0)} ms.`;
  }
  show();
  if (pending) {
    pending = false;
    request();
  }
};
worker.onerror = (event) => {
  state.status = 'error';
  state.message = event.message;
  show();
};

// Drawing: a soft round brush about two pixels wide, as the training images' strokes.
let drawing = false;
function brush(event: PointerEvent): void {
  const box = canvas.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * SIZE;
  const y = ((event.clientY - box.top) / box.height) * SIZE;
  for (let i = Math.max(0, Math.floor(y - 2)); i < Math.min(SIZE, Math.ceil(y + 2)); i++) {
    for (let j = Math.max(0, Math.floor(x - 2)); j < Math.min(SIZE, Math.ceil(x + 2)); j++) {
      const d = Math.hypot(i + 0.5 - y, j + 0.5 - x);
      strokes[i * SIZE + j] = Math.max(strokes[i * SIZE + j]!, Math.min(1, Math.max(0, 1.6 - d)));
    }
  }
  request();
}
canvas.addEventListener('pointerdown', (event) => {
  drawing = true;
  canvas.setPointerCapture(event.pointerId);
  brush(event);
});
canvas.addEventListener('pointermove', (event) => {
  if (drawing) brush(event);
});
canvas.addEventListener('pointerup', () => {
  drawing = false;
});

$('clear').addEventListener('click', () => {
  strokes = new Float64Array(SIZE * SIZE);
  example = null;
  exampleSelect.value = '';
  request();
});
exampleSelect.addEventListener('change', () => {
  example = exampleSelect.value === '' ? null : Number(exampleSelect.value);
  strokes = new Float64Array(SIZE * SIZE);
  request();
});
rotate.addEventListener('input', () => {
  state.rotation = Number(rotate.value);
  $('rotate-value').textContent = `${state.rotation}°`;
  request();
});

paint(currentPixels());
show();
window.imagesPlayground = { state: () => structuredClone(state) };
