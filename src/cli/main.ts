#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `laplace-ts` executable (package.json `bin`): runs a command and exits
 * with its code. Everything else is in ./commands.ts.
 *
 * A reader that stops early (`laplace-ts predict … | head -1`) closes the
 * pipe, and the next write fails with EPIPE. The rest of the output then has
 * nowhere to go, which is the reader's choice and not an error: exit quietly
 * with the code the command set.
 */
import { run } from './commands.js';

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
}

process.exitCode = run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
