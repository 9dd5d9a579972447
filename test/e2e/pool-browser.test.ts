/**
 * The worker pool in a real browser. Vite bundles test/e2e/pool-browser-probe.ts
 * with the library into one module (minified, as an application's bundler
 * would), served three ways from a tiny local server: cross-origin isolated
 * (COOP same-origin, COEP require-corp), plain, and isolated under a content
 * security policy that refuses blob: workers. Each page runs the probe on its
 * main thread and in a module Web Worker, in headless Chromium.
 *
 * Claims: only the isolated page's Web Worker gets a pool thread (the main
 * thread may not block in Atomics.wait, the plain page cannot share memory, a
 * policy against blob: workers refuses the pool's worker); with the pool the
 * product has the same bits as without it; everywhere it agrees with a
 * triple loop. Without /usr/bin/chromium the test skips itself with the
 * reason. `POOL_BROWSER_BENCH=1` also times gemm 1024 in the worker.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ChromiumSession, launchChromium, noChromium, serve } from './browser.js';
import type { PoolProbeReport } from './pool-browser-probe.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MEASURE = process.env['POOL_BROWSER_BENCH'] === '1';

/** Response headers of each page, by its directory. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
const PAGES: Record<string, Record<string, string>> = {
  isolated: ISOLATION,
  plain: {},
  'no-blob-workers': { ...ISOLATION, 'Content-Security-Policy': "worker-src 'self'" },
};

/** The page: probe on the main thread, then in a module worker; the outcome as `window.poolProbe`. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>worker pool probe</title>
<script type="module">
import { probe } from './pool-browser-probe.js';
window.poolProbe = (async () => {
  const main = await probe('main thread', false);
  const worker = new Worker('./pool-browser-probe.js', { type: 'module' });
  const inWorker = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage({ measure: ${MEASURE} });
  });
  worker.terminate();
  return { main, worker: inWorker };
})().catch((error) => ({ error: String(error) }));
</script>
`;

interface Outcome {
  main: PoolProbeReport;
  worker: PoolProbeReport | { error: string };
}

declare global {
  interface Window {
    poolProbe?: Promise<Outcome | { error: string }>;
  }
}

const skipReason = noChromium('worker pool browser e2e');
if (skipReason !== undefined) {
  test.skip(skipReason, () => {});
} else {
  describe('worker pool in headless Chromium', () => {
    let site: string;
    let server: Server;
    let url: string;
    let browser: ChromiumSession;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      site = mkdtempSync(join(tmpdir(), 'pool-browser-'));
      const bundle = join(site, 'bundle');
      await build({
        configFile: false,
        root: ROOT,
        logLevel: 'warn',
        publicDir: false,
        build: {
          outDir: bundle,
          emptyOutDir: true,
          target: 'es2022',
          minify: true,
          lib: {
            entry: join(ROOT, 'test', 'e2e', 'pool-browser-probe.ts'),
            formats: ['es'],
            fileName: () => 'pool-browser-probe.js',
          },
        },
      });
      for (const name of Object.keys(PAGES)) {
        mkdirSync(join(site, name));
        cpSync(join(bundle, 'pool-browser-probe.js'), join(site, name, 'pool-browser-probe.js'));
        writeFileSync(join(site, name, 'index.html'), PAGE);
      }
      ({ server, url } = await serve(site, (path) => PAGES[path.split('/')[1] ?? ''] ?? {}));
      browser = await launchChromium();
      browser.page.on('pageerror', (error) => pageErrors.push(error.message));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      server?.close();
      if (site) rmSync(site, { recursive: true, force: true });
    });

    async function outcome(name: string): Promise<Outcome> {
      await browser.page.goto(`${url}${name}/`);
      const result = await browser.page.evaluate(() => window.poolProbe!);
      expect(pageErrors).toEqual([]);
      if ('error' in result) throw new Error(`${name}: ${result.error}`);
      if ('error' in result.worker) throw new Error(`${name} worker: ${result.worker.error}`);
      return result;
    }

    /** Every product agrees with the triple loop, and the pool (whether running or not) changes no bit. */
    function expectRightProducts(report: PoolProbeReport) {
      expect(report.relativeError).toBeLessThan(1e-12);
      expect(report.sameBits).toBe(true);
    }

    test('cross-origin isolated: a pool thread in the Web Worker, none on the main thread', async () => {
      const { main, worker } = await outcome('isolated');
      expect(main).toMatchObject({ crossOriginIsolated: true, threads: 0, teamSize: 0 });
      expectRightProducts(main);
      expect(worker).toMatchObject({ crossOriginIsolated: true, threads: 1, teamSize: 1 });
      expectRightProducts(worker as PoolProbeReport);
      const timing = (worker as PoolProbeReport).gemm1024;
      if (timing !== undefined) {
        const gflops = (ms: number) => ((2 * 1024 ** 3) / ms / 1e6).toFixed(1);
        console.log(
          `gemm 1024 in a Chromium worker: ${timing.singleMs.toFixed(1)} ms (${gflops(timing.singleMs)} GFLOP/s) alone, ` +
            `${timing.pooledMs.toFixed(1)} ms (${gflops(timing.pooledMs)} GFLOP/s) with one pool worker`,
        );
      }
    }, 30_000);

    test('not isolated: no pool anywhere, products unchanged', async () => {
      const { main, worker } = await outcome('plain');
      for (const report of [main, worker as PoolProbeReport]) {
        expect(report).toMatchObject({ crossOriginIsolated: false, threads: 0, teamSize: 0 });
        expectRightProducts(report);
      }
    }, 30_000);

    test('blob: workers refused by the content security policy: no pool, no hang', async () => {
      const { main, worker } = await outcome('no-blob-workers');
      for (const report of [main, worker as PoolProbeReport]) {
        expect(report).toMatchObject({ crossOriginIsolated: true, threads: 0, teamSize: 0 });
        expectRightProducts(report);
      }
    }, 30_000);
  });
}
