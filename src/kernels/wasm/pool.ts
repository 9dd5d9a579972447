/**
 * An optional pool of worker threads that run gebp beside the calling thread,
 * over one shared WebAssembly.Memory.
 *
 * The library is synchronous, so the pool is a fork–join on shared memory:
 * the caller packs a slice of A and B as usual, writes each worker a task (a
 * range of rows of the block of C) into that worker's control words at the
 * start of memory, wakes it with `Atomics.notify`, runs its own range, and
 * waits (`Atomics.wait`) until every worker has written back the task's
 * sequence number. Rows of C are disjoint between threads and each entry is
 * computed exactly as without the pool, so results do not change.
 *
 * Starting threads is asynchronous and needs the host's worker API, so the
 * pool is opt-in: `await startWorkers()` and `stopWorkers()`. Where a
 * `Worker` global exists (browsers, Deno, Bun) the workers are Web Workers;
 * in Node they are worker_threads, imported dynamically, never at module
 * load. Either way they run a short script held here as a string (through a
 * Blob URL, or Node's `eval`), not a file, so nothing has to be resolved from
 * dist/ or by a bundler; all the arithmetic is in the WebAssembly module each
 * worker instantiates over the shared memory.
 *
 * The pool needs what shared memory needs, and a caller allowed to block:
 * SharedArrayBuffer and Atomics (in browsers only on cross-origin isolated
 * pages, served with `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`), blob: workers (a content
 * security policy may refuse them), and `Atomics.wait`, which browsers forbid
 * on a page's main thread. In a browser, then, call startWorkers from inside
 * a Web Worker that does the numerical work. Where anything is missing the
 * pool does not start and products stay on one thread.
 */
import { activeVariant, type Engine, PAGE } from './backend.js';
import { type Kernels, kernelModule } from './module.js';

/** Largest shared memory (4 GiB is the wasm32 limit; the driver keeps its blocks far below this). */
const MAX_PAGES = 16384;
/** Control words per worker: sequence, done, stop, variant, the task, and whether the task failed. */
const WORDS = 16;
const [SEQ, DONE, STOP, VARIANT, FROM, TO, N_TILES, KC, PA, PB, C, LDC, MC, FAILED] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
];

/**
 * gebp over rows [from, to) of a packed block, `mc` rows per call so that each
 * packed slice of A stays in L2. The workers run this very function: its source
 * text is part of WORKER_SOURCE (it uses nothing but its arguments and Math).
 */
export function runRows(
  kernels: Kernels,
  from: number,
  to: number,
  mc: number,
  nTiles: number,
  kc: number,
  pa: number,
  pb: number,
  c: number,
  ldc: number,
): void {
  for (let ic = from; ic < to; ic += mc) {
    const rows = Math.min(mc, to - ic);
    kernels.gebp(Math.ceil(rows / 4), nTiles, kc, pa + ic * kc * 8, pb, c + ic * ldc, ldc);
  }
}

/**
 * The worker: instantiate the modules over the shared memory, then serve tasks
 * until told to stop. The same text runs as a Web Worker (which has `self`)
 * and as Node's eval'd worker_threads script (which has `require`).
 */
const WORKER_SOURCE = `
const port = typeof self === 'undefined'
  ? require('node:worker_threads').parentPort
  : { once: (type, listener) => { self.onmessage = (event) => listener(event.data); }, postMessage: (m) => self.postMessage(m) };
const runRows = ${runRows.toString()};
port.once('message', ({ memory, modules, control }) => {
  const kernels = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
  const w = new Int32Array(memory.buffer, control, ${WORDS});
  // Warm up on scratch space past the control words (unused until the pool is ready),
  // so that the engine has optimised gebp before the first product.
  for (const k of kernels) for (let i = 0; i < 2000; i++) k.gebp(1, 1, 256, ${PAGE}, ${PAGE + 8192}, ${PAGE + 16384}, 32);
  port.postMessage('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(w, ${SEQ}, seen);
    seen = Atomics.load(w, ${SEQ});
    if (w[${STOP}]) return;
    // A trap must not kill the thread with the caller waiting: flag it, and the caller redoes the rows.
    try {
      runRows(kernels[w[${VARIANT}]], w[${FROM}], w[${TO}], w[${MC}], w[${N_TILES}], w[${KC}], w[${PA}], w[${PB}], w[${C}], w[${LDC}]);
    } catch {
      w[${FAILED}] = 1;
    }
    Atomics.store(w, ${DONE}, seen);
    Atomics.notify(w, ${DONE});
  }
});
`;

/** How long a worker may take to say 'ready' before the pool gives up on starting. */
const READY_TIMEOUT_MS = 10_000;

/** A worker as the pool sees it, in either host. */
interface PoolWorker {
  /** Settles on the worker's first message ('ready') or its first error. */
  ready: Promise<void>;
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** A host that can run WORKER_SOURCE: its cores, how to start one worker, and what to release afterwards. */
interface WorkerHost {
  cores: number;
  spawn(): PoolWorker;
  release(): void;
}

/** What we use of a Web Worker (browsers, Deno, Bun). */
interface WebWorker {
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: { message?: string; preventDefault(): void }) => void) | null;
  onmessageerror: (() => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
  /** Bun's: lets the process exit while the worker idles. */
  unref?(): void;
}
interface WebGlobals {
  Worker?: new (url: string, options: { type: 'module' }) => WebWorker;
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}

/** What we use of Node's worker_threads. */
interface NodeWorker {
  postMessage(message: unknown): void;
  once(event: 'message' | 'error', listener: (value: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}
interface WorkerThreads {
  Worker: new (source: string, options: { eval: true }) => NodeWorker;
}

/**
 * Web Workers from a Blob URL of WORKER_SOURCE (module workers: the only kind
 * Deno accepts); undefined where there is no Worker global, null where there
 * is one but the page is not cross-origin isolated, so memory cannot be shared.
 */
function webHost(): WorkerHost | null | undefined {
  const { Worker, crossOriginIsolated, navigator } = globalThis as WebGlobals;
  if (typeof Worker !== 'function') return undefined;
  if (crossOriginIsolated === false) return null;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return {
    cores: navigator?.hardwareConcurrency ?? 2,
    spawn() {
      const worker = new Worker(url, { type: 'module' });
      const ready = new Promise<void>((resolve, reject) => {
        worker.onmessage = () => {
          // From here on an error is the host's to report, not a failed start.
          worker.onmessage = null;
          worker.onmessageerror = null;
          worker.onerror = null;
          resolve();
        };
        worker.onmessageerror = () =>
          reject(new Error('startWorkers: the worker could not receive its memory'));
        worker.onerror = (event) => {
          // Handled here (e.g. a content security policy refusing blob: workers), not reported as uncaught.
          event.preventDefault();
          reject(new Error(`startWorkers: ${event.message ?? 'the worker failed to start'}`));
        };
      });
      worker.unref?.();
      return {
        ready,
        postMessage: (message) => worker.postMessage(message),
        terminate: () => worker.terminate(),
      };
    },
    release: () => URL.revokeObjectURL(url),
  };
}

/** Node's worker_threads, imported on demand; undefined where they cannot be. */
async function nodeHost(): Promise<WorkerHost | undefined> {
  try {
    // A variable specifier keeps bundlers from resolving a Node built-in.
    const threadsSpecifier = 'node:worker_threads';
    const osSpecifier = 'node:os';
    const { Worker } = (await import(/* @vite-ignore */ threadsSpecifier)) as WorkerThreads;
    const os = (await import(/* @vite-ignore */ osSpecifier)) as { availableParallelism?: () => number };
    return {
      cores: os.availableParallelism?.() ?? 2,
      spawn() {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        const ready = new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        });
        // Idle workers must not keep the process alive.
        worker.unref();
        return {
          ready,
          postMessage: (message) => worker.postMessage(message),
          terminate: () => worker.terminate(),
        };
      },
      release: () => {},
    };
  } catch {
    return undefined;
  }
}

/** Whether this thread may block in `Atomics.wait` (not a browser's main thread), as the caller of a team must. */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** `promise`, or a rejection after `ms` milliseconds. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`startWorkers: no worker ready after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Pool {
  memory: WebAssembly.Memory;
  /** The calling thread's instances over the shared memory, by variant. */
  kernels: { simd: Kernels | undefined; relaxed: Kernels | undefined };
  workers: PoolWorker[];
  control: Int32Array[];
}

let pool: Pool | undefined;

/** A team for one product: the caller's engine over the shared memory and the workers beside it. */
export interface Team extends Engine {
  /** Worker threads besides the caller. */
  size: number;
  /** Start worker w on runRows(from, to, …) (pointers in bytes). */
  post(
    w: number,
    from: number,
    to: number,
    mc: number,
    nTiles: number,
    kc: number,
    pa: number,
    pb: number,
    c: number,
    ldc: number,
  ): void;
  /** Wait until every posted task is done. */
  join(): void;
}

interface SharedKernels {
  memory: WebAssembly.Memory;
  /** Compiled modules, simd first, for the workers to instantiate. */
  modules: WebAssembly.Module[];
  kernels: Pool['kernels'];
}

/**
 * undefined until first needed; kept for the life of the process so that a
 * restarted pool reuses the memory and the code V8 has already optimised.
 */
let shared: SharedKernels | null | undefined;

/** The modules compiled for a shared memory, and the caller's instances of them; null if refused. */
function sharedKernels(): SharedKernels | null {
  if (shared !== undefined) return shared;
  shared = null;
  try {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
    const modules: WebAssembly.Module[] = [];
    const kernels: Pool['kernels'] = { simd: undefined, relaxed: undefined };
    for (const variant of ['simd', 'relaxed'] as const) {
      const bytes = kernelModule({ relaxed: variant === 'relaxed', sharedMaxPages: MAX_PAGES });
      if (!WebAssembly.validate(bytes)) break;
      const module = new WebAssembly.Module(bytes);
      kernels[variant] = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
      modules.push(module);
    }
    if (kernels.simd !== undefined) shared = { memory, modules, kernels };
  } catch {
    shared = null;
  }
  return shared;
}

/**
 * Start `threads` worker threads (default: one less than the cores, at least
 * one) for large products under the WebAssembly backends: Web Workers where
 * the host has a `Worker` global (browsers, Deno, Bun), worker_threads in
 * Node. Resolves to the number running, or to 0, in which case products
 * simply stay on one thread, where:
 * - there is no SharedArrayBuffer or Atomics, or no WebAssembly kernels;
 * - a browser page is not cross-origin isolated (serve it with
 *   `Cross-Origin-Opener-Policy: same-origin` and
 *   `Cross-Origin-Embedder-Policy: require-corp`);
 * - this thread may not block: a browser's main thread. Call startWorkers
 *   from inside the Web Worker that runs the computation;
 * - the workers cannot be started (a content security policy refusing blob:
 *   workers, no worker API) or are not ready within a few seconds.
 *
 * Threads started from a Web Worker end with it. In Node idle workers do not
 * keep the process alive; in Deno call stopWorkers() to let it exit.
 */
export async function startWorkers(threads?: number): Promise<number> {
  await stopWorkers();
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined' || !canBlock()) return 0;
  const web = webHost();
  const host = web === undefined ? await nodeHost() : web;
  if (host === undefined || host === null) return 0;
  try {
    const count = Math.min(64, Math.max(1, Math.floor(threads ?? host.cores - 1)));
    const compiled = sharedKernels();
    if (compiled === null) return 0;
    const { memory, modules, kernels } = compiled;
    const workers: PoolWorker[] = [];
    const control: Int32Array[] = [];
    try {
      for (let w = 0; w < count; w++) {
        const worker = host.spawn();
        workers.push(worker);
        // Fresh control words (the memory outlives earlier pools).
        control.push(new Int32Array(memory.buffer, 4 * WORDS * w, WORDS).fill(0));
        worker.postMessage({ memory, modules, control: 4 * WORDS * w });
      }
      await withTimeout(Promise.all(workers.map((w) => w.ready)), READY_TIMEOUT_MS);
    } catch {
      await Promise.all(workers.map((w) => w.terminate()));
      return 0;
    }
    pool = { memory, kernels, workers, control };
    return count;
  } finally {
    host.release();
  }
}

/** Stop the worker threads, if any. */
export async function stopWorkers(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p === undefined) return;
  for (const w of p.control) {
    Atomics.store(w, STOP, 1);
    Atomics.add(w, SEQ, 1);
    Atomics.notify(w, SEQ);
  }
  await Promise.all(p.workers.map((w) => w.terminate()));
}

let paused = false;

/**
 * Keep the threads but run products on the caller alone (true) or with them
 * again (false): lets a benchmark interleave both without restarting threads.
 */
export function pauseWorkers(pause: boolean): void {
  paused = pause;
}

/** Worker threads running now. */
export function workerCount(): number {
  return pool?.workers.length ?? 0;
}

/** The team for the current backend, or undefined without a pool or under 'js'. */
export function team(): Team | undefined {
  const p = pool;
  const variant = activeVariant();
  const kernels = variant === undefined ? undefined : p?.kernels[variant];
  if (p === undefined || kernels === undefined || paused) return undefined;
  const variantIndex = variant === 'simd' ? 0 : 1;
  const posted: number[] = [];
  return {
    kernels,
    memory: p.memory,
    // The driver's buffers start after the control words, on a page of their own.
    base: PAGE,
    size: p.workers.length,
    post(w, from, to, mc, nTiles, kc, pa, pb, c, ldc) {
      const words = p.control[w]!;
      words[VARIANT] = variantIndex;
      words[FROM] = from;
      words[TO] = to;
      words[MC] = mc;
      words[N_TILES] = nTiles;
      words[KC] = kc;
      words[PA] = pa;
      words[PB] = pb;
      words[C] = c;
      words[LDC] = ldc;
      posted.push(w, Atomics.add(words, SEQ, 1) + 1);
      Atomics.notify(words, SEQ);
    },
    join() {
      const tasks = posted.splice(0);
      for (let i = 0; i < tasks.length; i += 2) {
        const words = p.control[tasks[i]!]!;
        const seq = tasks[i + 1]!;
        for (let done = Atomics.load(words, DONE); done !== seq; done = Atomics.load(words, DONE)) {
          Atomics.wait(words, DONE, done);
        }
        if (words[FAILED]) {
          // The worker's WebAssembly trapped: run its rows here, where a second trap is thrown to the caller.
          words[FAILED] = 0;
          // biome-ignore format: the task's words in order
          runRows(kernels, words[FROM]!, words[TO]!, words[MC]!, words[N_TILES]!, words[KC]!, words[PA]!, words[PB]!, words[C]!, words[LDC]!);
        }
      }
    },
  };
}
