/**
 * The page: points, controls and pictures; all numerical work is posted to
 * Web Workers (worker.ts) and drawn when it comes back.
 *
 * One fit at a time per worker: a new request while one runs terminates the
 * worker and starts another, the cheapest cancellation there is. A result
 * remembers the points and settings it was computed from; when they no longer
 * match the page's, it is drawn faded ("stale") until the next fit arrives.
 *
 * For tests and the curious, `window.playground.state()` returns a plain copy
 * of everything shown, and the main element carries the status and headline
 * numbers as data attributes.
 */
import { gapRegression, twoMoons } from '../src/data/toy.js';
import type { ActivationName, LinkApprox, PredType } from '../src/index.js';
import { drawClassification, drawDepthEvidence, drawRegression, type Scale } from './draw.js';
import {
  CLASSIFICATION_VIEW,
  checkPoints,
  DEFAULT_SETTINGS,
  type DepthEvidence,
  type FitResult,
  type FitSettings,
  type Point,
  type PosteriorChoice,
  REGRESSION_VIEW,
  type Task,
} from './fit.js';
import type { Work, WorkerReply, WorkerRequest } from './protocol.js';

type Status = 'idle' | 'running' | 'done' | 'error';

interface TaskState {
  points: Point[];
  result: FitResult | null;
  /** The points and settings `result` was computed from. */
  resultKey: string | null;
  depth: DepthEvidence[];
}

/** Everything the page shows, as plain data. */
export interface PlaygroundSnapshot {
  task: Task;
  settings: FitSettings;
  autoFit: boolean;
  status: Status;
  message: string;
  fitCount: number;
  stale: boolean;
  regression: TaskState;
  classification: TaskState;
  depthStatus: Status;
}

declare global {
  interface Window {
    playground?: { state(): PlaygroundSnapshot };
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`playground: the page has no #${id}`);
  return element as T;
};

const app = $('app');
const canvases: Record<Task, HTMLCanvasElement> = {
  regression: $('regression-canvas'),
  classification: $('classification-canvas'),
};
const views = { regression: REGRESSION_VIEW, classification: CLASSIFICATION_VIEW };

const state: PlaygroundSnapshot = {
  task: 'regression',
  settings: { ...DEFAULT_SETTINGS },
  autoFit: true,
  status: 'idle',
  message: 'Click the canvas to add data.',
  fitCount: 0,
  stale: false,
  regression: { points: gapPreset(), result: null, resultKey: null, depth: [] },
  classification: { points: moonsPreset(), result: null, resultKey: null, depth: [] },
  depthStatus: 'idle',
};
const scales: Partial<Record<Task, Scale>> = {};

function gapPreset(): Point[] {
  const { train } = gapRegression({ nTrain: 40, noise: 0.1, seed: 1 });
  return train.X.map(([x], i) => ({ x: x!, y: train.y[i]!, label: 0 }));
}

function moonsPreset(): Point[] {
  const { X, y } = twoMoons({ n: 100, noise: 0.12, seed: 2 });
  return X.map(([a, b], i) => ({ x: a!, y: b!, label: y[i]! }));
}

const current = (): TaskState => state[state.task];
const requestKey = (task: Task): string => JSON.stringify([task, state[task].points, state.settings]);

// ---------------------------------------------------------------------------
// Workers

/** A worker that is restarted when asked for new work while busy. */
class Job {
  private worker: Worker | null = null;
  private busy = false;
  private nextId = 0;
  private activeId = -1;

  constructor(private readonly onReply: (reply: WorkerReply) => void) {}

  post(work: Work): void {
    if (this.busy) this.stop();
    if (!this.worker) {
      this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
      this.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.id !== this.activeId) return;
        if (reply.kind !== 'progress') this.busy = false;
        this.onReply(reply);
      };
      this.worker.onerror = (event) => {
        this.busy = false;
        this.onReply({ kind: 'error', id: this.activeId, message: event.message || 'the worker failed' });
      };
    }
    this.activeId = this.nextId++;
    this.busy = true;
    const request: WorkerRequest = { ...work, id: this.activeId };
    this.worker.postMessage(request);
  }

  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    this.busy = false;
  }
}

/** The task and request key of the fit in flight. */
let pending: { task: Task; key: string } = { task: 'regression', key: '' };

const fitJob = new Job((reply) => {
  const task = pending.task;
  if (reply.kind === 'progress') return showProgress(reply.fraction, reply.message);
  if (reply.kind === 'fit') {
    state[task].result = reply.result;
    state[task].resultKey = pending.key;
    state.fitCount++;
    state.status = 'done';
    const r = reply.result;
    state.message = `Fitted ${state[task].points.length} points in ${((r.trainMs + r.laplaceMs) / 1000).toFixed(1)} s${r.trainMs === 0 ? ' (network reused, posterior refitted)' : ''}.`;
  } else if (reply.kind === 'error') {
    state.status = 'error';
    state.message = reply.message;
  }
  render();
});

let depthTask: Task = 'regression';

const depthJob = new Job((reply) => {
  const status = $('depth-status');
  if (reply.kind === 'progress') {
    status.textContent = reply.message;
    return;
  }
  if (reply.kind === 'depth') {
    state[depthTask].depth = reply.results;
    state.depthStatus = 'done';
  } else if (reply.kind === 'error') {
    state.depthStatus = 'error';
    status.textContent = reply.message;
  }
  render();
});

let fitTimer: ReturnType<typeof setTimeout> | undefined;

function fit(): void {
  clearTimeout(fitTimer);
  const task = state.task;
  try {
    checkPoints(task, state[task].points);
  } catch (error) {
    fitJob.stop();
    state.status = 'error';
    state.message = (error as Error).message;
    render();
    return;
  }
  pending = { task, key: requestKey(task) };
  state.status = 'running';
  state.message = '';
  fitJob.post({ kind: 'fit', task, points: state[task].points, settings: { ...state.settings } });
  showProgress(0, 'Starting…');
  render();
}

/** Refit shortly after the last change, if auto-fit is on and the result is out of date. */
function scheduleFit(): void {
  clearTimeout(fitTimer);
  if (!state.autoFit || current().resultKey === requestKey(state.task)) return;
  try {
    checkPoints(state.task, current().points);
  } catch {
    return; // too few points yet: wait quietly for more clicks
  }
  fitTimer = setTimeout(fit, 250);
}

function compareDepths(): void {
  depthTask = state.task;
  state.depthStatus = 'running';
  $('depth-status').textContent = 'Starting…';
  depthJob.post({
    kind: 'depth',
    task: depthTask,
    points: current().points,
    settings: { ...state.settings },
    maxDepth: 4,
  });
  render();
}

// ---------------------------------------------------------------------------
// Rendering

function showProgress(fraction: number | null, message: string): void {
  const bar = $('progress');
  bar.classList.toggle('indeterminate', fraction === null);
  $('progress-fill').style.width = `${Math.round((fraction ?? 0.35) * 100)}%`;
  bar.setAttribute('aria-valuenow', fraction === null ? '' : String(Math.round(fraction * 100)));
  $('progress-text').textContent = message;
}

const format = (value: number, digits = 3): string =>
  Number.isFinite(value)
    ? Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0)
      ? value.toExponential(2)
      : value.toPrecision(digits)
    : '—';

function render(): void {
  const task = state.task;
  const { points, result, resultKey } = current();
  state.stale = result !== null && resultKey !== requestKey(task);

  for (const t of ['regression', 'classification'] as const) {
    const selected = t === task;
    canvases[t].hidden = !selected;
    $(`tab-${t}`).setAttribute('aria-selected', String(selected));
    for (const el of document.querySelectorAll<HTMLElement>(`[data-for-task="${t}"]`)) el.hidden = !selected;
  }
  const prediction = result?.prediction ?? null;
  scales[task] =
    task === 'regression'
      ? drawRegression(
          canvases.regression,
          views.regression,
          points,
          prediction?.task === 'regression' ? prediction : null,
          state.stale,
        )
      : drawClassification(
          canvases.classification,
          views.classification,
          points,
          prediction?.task === 'classification' ? prediction : null,
          state.stale,
        );
  const scale = scales[task]!;
  const canvas = canvases[task];
  const { xMin, xMax, yMin, yMax } = scale.view;
  canvas.dataset['view'] = [xMin, xMax, yMin, yMax].join(',');
  canvas.dataset['plot'] = [scale.area.left, scale.area.top, scale.area.width, scale.area.height].join(',');

  // Status line and progress bar.
  const running = state.status === 'running';
  $('progress').hidden = !running;
  const message = $('status-text');
  message.hidden = running;
  message.textContent =
    state.stale && !running ? `${state.message} Settings or data changed: press Fit.` : state.message;
  message.classList.toggle('error', state.status === 'error');
  $<HTMLButtonElement>('fit').textContent = running ? 'Fitting…' : 'Fit';

  // Numbers.
  $('stat-prior').textContent = result ? format(result.priorPrecision) : '—';
  $('stat-noise').textContent = result && task === 'regression' ? format(result.sigmaNoise) : '—';
  $('stat-evidence').textContent = result ? result.logMarginalLikelihood.toFixed(2) : '—';
  $('stat-params').textContent = result
    ? result.posteriorParams === result.networkParams
      ? String(result.networkParams)
      : `${result.posteriorParams} of ${result.networkParams}`
    : '—';
  $('stat-loss').textContent = result ? format(result.trainingLoss) : '—';
  $('stat-time').textContent = result
    ? `${(result.trainMs / 1000).toFixed(1)} s + ${(result.laplaceMs / 1000).toFixed(2)} s`
    : '—';
  $('point-count').textContent = `${points.length} point${points.length === 1 ? '' : 's'}`;

  // Controls whose meaning depends on others.
  const s = state.settings;
  $<HTMLSelectElement>('link-approx').disabled = task === 'regression' || s.predType === 'nn';
  $<HTMLInputElement>('sigma-noise').disabled = task === 'classification';
  $('pred-hint').hidden = s.predType !== 'nn';
  const depth = current().depth;
  drawDepthEvidence($('depth-canvas'), depth);
  if (state.depthStatus !== 'running' && !(state.depthStatus === 'error' && depthTask === task)) {
    const best = depth.reduce<DepthEvidence | null>(
      (a, b) => (a === null || b.logMarginalLikelihood > a.logMarginalLikelihood ? b : a),
      null,
    );
    $('depth-status').textContent = best
      ? `Highest evidence: ${best.hiddenLayers} hidden layer${best.hiddenLayers > 1 ? 's' : ''}.`
      : '';
  }
  $<HTMLButtonElement>('depth-run').disabled = state.depthStatus === 'running';

  const data = app.dataset;
  data['task'] = task;
  data['status'] = state.status;
  data['fitCount'] = String(state.fitCount);
  data['points'] = String(points.length);
  data['stale'] = String(state.stale);
  data['posterior'] = s.posterior;
  data['predType'] = s.predType;
  data['linkApprox'] = s.linkApprox;
  data['tune'] = String(s.tune);
  data['logEvidence'] = result ? String(result.logMarginalLikelihood) : '';
  data['priorPrecision'] = result ? String(result.priorPrecision) : '';
  data['sigmaNoise'] = result ? String(result.sigmaNoise) : '';
  data['depthStatus'] = state.depthStatus;
}

// ---------------------------------------------------------------------------
// Input

function pointerPosition(canvas: HTMLCanvasElement, event: MouseEvent): { x: number; y: number } | null {
  const rect = canvas.getBoundingClientRect();
  return scales[state.task]?.invert(event.clientX - rect.left, event.clientY - rect.top) ?? null;
}

/** Remove the point nearest the pointer, if one is within a few pixels. */
function removeNear(canvas: HTMLCanvasElement, event: MouseEvent): void {
  const scale = scales[state.task];
  if (!scale) return;
  const rect = canvas.getBoundingClientRect();
  const px = event.clientX - rect.left;
  const py = event.clientY - rect.top;
  const points = current().points;
  let nearest = -1;
  let best = 10 ** 2;
  points.forEach((p, i) => {
    const d = (scale.px(p.x) - px) ** 2 + (scale.py(p.y) - py) ** 2;
    if (d < best) [best, nearest] = [d, i];
  });
  if (nearest >= 0)
    setPoints(
      state.task,
      points.filter((_, i) => i !== nearest),
    );
}

for (const task of ['regression', 'classification'] as const) {
  const canvas = canvases[task];
  canvas.addEventListener('click', (event) => {
    if (event.altKey) removeNear(canvas, event);
    else {
      const at = pointerPosition(canvas, event);
      if (!at) return;
      const label = task === 'classification' && event.shiftKey ? 1 : 0;
      setPoints(task, [...state[task].points, { ...at, label }]);
    }
    render();
    scheduleFit();
  });
  canvas.addEventListener('contextmenu', (event) => {
    event.preventDefault();
    removeNear(canvas, event);
    render();
    scheduleFit();
  });
  $(`tab-${task}`).addEventListener('click', () => {
    state.task = task;
    render();
    scheduleFit();
  });
}

/** New data: the depth comparison no longer describes it. */
function setPoints(task: Task, points: Point[]): void {
  state[task].points = points;
  state[task].depth = [];
}

function loadPreset(task: Task, points: Point[]): void {
  state.task = task;
  setPoints(task, points);
  render();
  scheduleFit();
}

$('preset-gap').addEventListener('click', () => loadPreset('regression', gapPreset()));
$('preset-moons').addEventListener('click', () => loadPreset('classification', moonsPreset()));
$('clear').addEventListener('click', () => {
  setPoints(state.task, []);
  fitJob.stop();
  state.status = 'idle';
  state.message = 'Click the canvas to add data.';
  render();
});
$('fit').addEventListener('click', fit);
$('depth-run').addEventListener('click', compareDepths);

/** Bind a form control to a setting: read it on change, then redraw and maybe refit. */
function bind<K extends keyof FitSettings>(
  id: string,
  key: K,
  parse: (value: string) => FitSettings[K],
  show: (value: FitSettings[K]) => string = String,
): void {
  const control = $<HTMLInputElement | HTMLSelectElement>(id);
  control.value = show(state.settings[key]);
  control.addEventListener('change', () => {
    const value = parse(control.value);
    if (typeof value === 'number' && !(value > 0 && Number.isFinite(value))) {
      control.value = show(state.settings[key]);
      return;
    }
    state.settings[key] = value;
    render();
    scheduleFit();
  });
}

bind('hidden-layers', 'hiddenLayers', Number);
bind('width', 'width', Number);
bind('activation', 'activation', (v) => v as ActivationName);
bind('epochs', 'epochs', Number);
bind('posterior', 'posterior', (v) => v as PosteriorChoice);
bind('pred-type', 'predType', (v) => v as PredType);
bind('link-approx', 'linkApprox', (v) => v as LinkApprox);
bind('prior-precision', 'priorPrecision', Number);
bind('sigma-noise', 'sigmaNoise', Number);

const tune = $<HTMLInputElement>('tune');
tune.checked = state.settings.tune;
tune.addEventListener('change', () => {
  state.settings.tune = tune.checked;
  render();
  scheduleFit();
});
const autoFit = $<HTMLInputElement>('auto-fit');
autoFit.checked = state.autoFit;
autoFit.addEventListener('change', () => {
  state.autoFit = autoFit.checked;
  render();
  scheduleFit();
});

window.addEventListener('resize', render);
window.playground = { state: () => structuredClone(state) };

render();
scheduleFit();
