/**
 * `npm start`: the demo. Runs five experiments on built-in data, prints
 * compact tables (progress bars on stderr, drawn only on a terminal), and
 * writes a self-contained HTML report, by default to report/index.html.
 *
 *   npm start                    the full run (a minute or two on 2 cores)
 *   npm start -- --quick         the reduced run used in CI
 *   npm start -- --out DIR       write DIR/index.html instead
 */
import { demoMain } from './run.js';

demoMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
