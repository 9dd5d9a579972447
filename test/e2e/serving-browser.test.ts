/**
 * Serving a laplace-torch posterior in a real browser. Vite bundles
 * test/e2e/serving-browser-probe.ts with the library (no Node built-ins may reach
 * the bundle); the page fetches each fixture of test/fixtures/serving (the
 * ONNX network and the posterior JSON), loads them with
 * `Laplace.fromLaplaceTorch` and predicts in headless Chromium. Claim: the
 * browser's predictive is Node's to rounding, and Node's
 * test/laplace/laplace-torch-serving.test.ts compares with laplace-torch's. Without
 * /usr/bin/chromium the test skips itself with the reason.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Laplace } from '../../src/laplace/index.js';
import { importOnnx } from '../../src/onnx/index.js';
import { expectClose } from '../helpers.js';
import { type ChromiumSession, launchChromium, noChromium, serve } from './browser.js';
import type { ServedPrediction } from './serving-browser-probe.js';

/** The two engines may round differently in the last bits (exp, summation order of the kernels). */
const ROUNDING = { rtol: 1e-12, atol: 1e-15 };

const ROOT = resolve(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'serving');
const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as {
  cases: { network: string; posterior: string; X: unknown }[];
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>serving probe</title>
<script type="module">
import { servePrediction } from './serving-browser-probe.js';
window.servePrediction = servePrediction;
window.servingReady = true;
</script>
`;

declare global {
  interface Window {
    servePrediction?: (network: string, posterior: string, X: unknown) => Promise<ServedPrediction>;
    servingReady?: boolean;
  }
}

const skipReason = noChromium('serving browser e2e');
if (skipReason !== undefined) {
  test.skip(skipReason, () => {});
} else {
  describe('a laplace-torch posterior served in headless Chromium', () => {
    let site: string;
    let server: Server;
    let url: string;
    let browser: ChromiumSession;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      site = mkdtempSync(join(tmpdir(), 'serving-browser-'));
      await build({
        configFile: false,
        root: ROOT,
        logLevel: 'warn',
        publicDir: false,
        build: {
          outDir: site,
          emptyOutDir: false,
          target: 'es2022',
          minify: true,
          lib: {
            entry: join(ROOT, 'test', 'e2e', 'serving-browser-probe.ts'),
            formats: ['es'],
            fileName: () => 'serving-browser-probe.js',
          },
        },
      });
      cpSync(FIXTURES, join(site, 'fixtures'), { recursive: true });
      writeFileSync(join(site, 'index.html'), PAGE);
      ({ server, url } = await serve(site));
      browser = await launchChromium();
      browser.page.on('pageerror', (error) => pageErrors.push(error.message));
      await browser.page.goto(url);
      await browser.page.waitForFunction(() => window.servingReady === true);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      server?.close();
      if (site) rmSync(site, { recursive: true, force: true });
    });

    test.each(reference.cases)('$posterior: the same predictive as in Node', async (ref) => {
      const served = await browser.page.evaluate(
        ([network, posterior, X]) =>
          window.servePrediction!(`fixtures/${network}`, `fixtures/${posterior}`, X),
        [ref.network, ref.posterior, ref.X] as const,
      );
      expect(pageErrors).toEqual([]);
      const la = Laplace.fromLaplaceTorch(
        JSON.parse(readFileSync(join(FIXTURES, ref.posterior), 'utf8')),
        importOnnx(readFileSync(join(FIXTURES, ref.network))),
      );
      const node = la.predict(ref.X) as {
        mean: { data: Float64Array };
        functionalCovariance: { data: Float64Array };
        probs?: { data: Float64Array };
      };
      expectClose(served.mean, node.mean.data, ROUNDING);
      expectClose(served.functionalCovariance, node.functionalCovariance.data, ROUNDING);
      if (node.probs) expectClose(served.probs!, node.probs.data, ROUNDING);
    });
  });
}
