/**
 * `npm run playground` serves the page with hot reload; `npm run
 * build:playground` writes a static site to playground/dist. Relative asset
 * paths (base './') let the site live under any path of any static host.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  // The library lives one level up, in src/ and demo/.
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
});
