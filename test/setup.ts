import fc from 'fast-check';
import { type Backend, setBackend } from '../src/linalg/index.js';

// Property tests are reproducible: a fixed seed unless FC_SEED is given to explore.
fc.configureGlobal({ seed: Number(process.env['FC_SEED'] ?? 20261127), numRuns: 40 });

// LAPLACE_TS_BACKEND=js runs the suite with the WebAssembly kernels forced off
// (`npm run test:js`); unset, the library's default backend runs.
const forced = process.env['LAPLACE_TS_BACKEND'];
if (forced) setBackend(forced as Backend);
