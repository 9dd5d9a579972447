#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `laplace-ts` executable (package.json `bin`): runs a command and exits
 * with its code. Everything else is in ./commands.ts.
 */
import { run } from './commands.js';

process.exitCode = run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
