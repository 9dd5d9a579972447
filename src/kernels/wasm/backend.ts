/**
 * Which kernel runs the bulk of every matrix product: the plain TypeScript one
 * ('js'), the WebAssembly SIMD macro-kernel ('wasm-simd', bitwise identical to
 * it) or its relaxed-SIMD variant ('wasm-relaxed', fused multiply-add, within a
 * few ulps).
 *
 * Nothing happens at import. On first use the two modules are assembled (see
 * module.ts), probed with `WebAssembly.validate` and compiled synchronously (they
 * are under 3 KB, within the 4 KB Chrome compiles synchronously on a page's main
 * thread). Any failure,
 * from a runtime without WebAssembly or SIMD to a content security policy or a
 * platform that forbids compiling from bytes, leaves the affected backend
 * unavailable and the TypeScript kernels in charge, silently.
 *
 * The default is 'wasm-simd' where it works: as fast as the hardware allows
 * short of fusing, and deterministic (the same bits as 'js' on every platform).
 * 'wasm-relaxed' is opt-in because relaxed SIMD lets the runtime choose between
 * fused and unfused arithmetic, so results may differ between machines.
 */
import { ValueError } from '../../errors.js';
import { type Kernels, kernelModule } from './module.js';

export type Backend = 'js' | 'wasm-simd' | 'wasm-relaxed';

const BACKENDS: readonly Backend[] = ['js', 'wasm-simd', 'wasm-relaxed'];

interface Engines {
  memory: WebAssembly.Memory;
  simd: Kernels | undefined;
  relaxed: Kernels | undefined;
}

/** Kernels instantiated over a memory; the gemm driver's buffers start at byte `base` of it. */
export interface Engine {
  kernels: Kernels;
  memory: WebAssembly.Memory;
  base: number;
}

export const PAGE = 65536;

/** undefined until probed; null once probed if no WebAssembly kernel can run here. */
let engines: Engines | null | undefined;
let chosen: Backend | undefined;
/** Float64 views of each memory, replaced whenever it grows (growing detaches an ordinary memory's buffer). */
const views = new WeakMap<WebAssembly.Memory, Float64Array>();

/** Compile and instantiate one variant, or undefined if this runtime refuses it. */
function instantiate(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): Kernels | undefined {
  try {
    if (!WebAssembly.validate(bytes)) return undefined;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    return instance.exports as unknown as Kernels;
  } catch {
    return undefined;
  }
}

function probe(): Engines | null {
  try {
    if (typeof WebAssembly !== 'object') return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const simd = instantiate(kernelModule({ relaxed: false }), memory);
    const relaxed = instantiate(kernelModule({ relaxed: true }), memory);
    return simd || relaxed ? { memory, simd, relaxed } : null;
  } catch {
    return null;
  }
}

/** The compiled kernels, probed once on first use; null if there are none. */
function load(): Engines | null {
  if (engines === undefined) engines = probe();
  return engines;
}

/** The backends this runtime can run, 'js' always first. */
export function availableBackends(): Backend[] {
  const e = load();
  return BACKENDS.filter((b) => b === 'js' || (b === 'wasm-simd' ? e?.simd : e?.relaxed) !== undefined);
}

/** The backend matrix products use now. */
export function backend(): Backend {
  if (chosen !== undefined) return chosen;
  return load()?.simd ? 'wasm-simd' : 'js';
}

/**
 * Force a backend for all later matrix products. Throws a ValueError for an
 * unknown name or one this runtime cannot run (see `availableBackends`).
 */
export function setBackend(name: Backend): void {
  if (!BACKENDS.includes(name)) {
    throw new ValueError(
      `setBackend: unknown backend ${JSON.stringify(name)}; expected one of ${BACKENDS.join(', ')}`,
    );
  }
  const available = availableBackends();
  if (!available.includes(name)) {
    throw new ValueError(
      `setBackend: backend '${name}' is not available in this runtime` +
        `${name === 'wasm-relaxed' ? ' (no relaxed SIMD)' : ' (no WebAssembly SIMD, or compiling from bytes is refused)'}` +
        `; available: ${available.join(', ')}`,
    );
  }
  chosen = name;
}

/** Which compiled variant the current backend runs, or undefined for 'js'. */
export function activeVariant(): 'simd' | 'relaxed' | undefined {
  const which = backend();
  return which === 'js' ? undefined : which === 'wasm-simd' ? 'simd' : 'relaxed';
}

/** The kernels of the current backend over the private memory, or undefined when products stay in TypeScript. */
export function activeEngine(): Engine | undefined {
  const variant = activeVariant();
  const kernels = variant === undefined ? undefined : engines?.[variant];
  return kernels === undefined || !engines ? undefined : { kernels, memory: engines.memory, base: 0 };
}

/**
 * A float64 view of `memory` at least `byteLength` long, growing it if
 * needed; undefined if it cannot grow that far (the caller falls back to
 * TypeScript).
 */
export function memoryView(memory: WebAssembly.Memory, byteLength: number): Float64Array | undefined {
  const have = memory.buffer.byteLength;
  if (have < byteLength) {
    try {
      memory.grow(Math.ceil((byteLength - have) / PAGE));
    } catch {
      return undefined;
    }
  }
  let view = views.get(memory);
  if (view === undefined || view.buffer !== memory.buffer) {
    view = new Float64Array(memory.buffer);
    views.set(memory, view);
  }
  return view;
}
