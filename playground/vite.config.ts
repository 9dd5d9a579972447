/**
 * `npm run playground` serves the pages (index.html, images.html) with hot reload; `npm run
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
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Two pages: the 1-D/2-D playground and the image page.
    rollupOptions: { input: { main: `${root}/index.html`, images: `${root}/images.html` } },
  },
  worker: { format: 'es' },
});
