import fc from 'fast-check';

// Property tests are reproducible: a fixed seed unless FC_SEED is given to explore.
fc.configureGlobal({ seed: Number(process.env['FC_SEED'] ?? 20261127), numRuns: 40 });
