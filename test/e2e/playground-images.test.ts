/**
 * The image page in a real browser: build the static site, serve it, and
 * drive Debian's Chromium through playwright-core. A stroke drawn with the
 * mouse must reach the network (the page's pixels change under the pointer)
 * and both bar charts (MAP and Laplace) must render ten bars of probabilities
 * that sum to one; a test garment rotated upside down must have a higher
 * predictive entropy under the linearised Laplace predictive than under the
 * MAP. Screenshots go to test-artifacts/. Without /usr/bin/chromium the test
 * is skipped with that reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImagesSnapshot } from '../../playground/images.js';
import { type ChromiumSession, launchChromium, noChromium, serve } from './browser.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'playground', 'dist');
const ARTIFACTS = join(ROOT, 'test-artifacts');

const snapshot = (page: Page): Promise<ImagesSnapshot> =>
  page.evaluate(() => window.imagesPlayground!.state());

/** Wait until the page has shown more than `after` predictions and is not computing. */
async function waitForPrediction(page: Page, after: number): Promise<ImagesSnapshot> {
  await page.waitForFunction(
    (n) => {
      const s = window.imagesPlayground?.state();
      return s !== undefined && s.status === 'done' && s.count > n;
    },
    after,
    { timeout: 30_000, polling: 100 },
  );
  return snapshot(page);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

const skipReason = noChromium('image playground e2e');
if (skipReason !== undefined) {
  test.skip(skipReason, () => {});
} else {
  describe('image playground in headless Chromium', () => {
    let server: Server;
    let browser: ChromiumSession;
    let page: Page;

    beforeAll(async () => {
      execFileSync('npm', ['run', '--silent', 'build:playground'], { cwd: ROOT, stdio: 'pipe' });
      mkdirSync(ARTIFACTS, { recursive: true });
      let url: string;
      ({ server, url } = await serve(DIST));
      browser = await launchChromium();
      page = browser.page;
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${url}images.html`);
      await waitForPrediction(page, 0); // the blank canvas, once the worker has loaded the model
      expect(errors).toEqual([]);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    test('a stroke drawn with the mouse: both bar charts render probabilities', async () => {
      const before = await snapshot(page);
      const box = (await page.locator('#draw').boundingBox())!;
      // A vertical stroke down the middle, as a person would draw "trousers".
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
      await page.mouse.down();
      for (let t = 0.15; t <= 0.85; t += 0.05)
        await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * t, { steps: 2 });
      await page.mouse.up();
      const state = await waitForPrediction(page, before.count);
      // The pixels under the stroke are lit, those at the edge are not.
      expect(state.pixels[14 * 28 + 14]).toBeGreaterThan(0.5);
      expect(state.pixels[14 * 28 + 1]).toBe(0);
      for (const prediction of [state.map!, state.laplace!]) {
        expect(prediction.probs).toHaveLength(10);
        expect(sum(prediction.probs)).toBeCloseTo(1, 9);
      }
      for (const id of ['map-bars', 'laplace-bars']) {
        const rects = await page.locator(`#${id} svg rect`).count();
        expect(rects, id).toBeGreaterThanOrEqual(10);
      }
      await page.screenshot({ path: join(ARTIFACTS, 'playground-images-stroke.png') });
    }, 60_000);

    test('a garment rotated upside down: Laplace entropy above the MAP’s', async () => {
      let state = await snapshot(page);
      await page.selectOption('#example', { label: 'Ankle boot' });
      state = await waitForPrediction(page, state.count);
      expect(state.example).not.toBeNull();
      await page.locator('#rotate').fill('180');
      state = await waitForPrediction(page, state.count);
      expect(state.rotation).toBe(180);
      expect(state.laplace!.entropy).toBeGreaterThan(state.map!.entropy);
      expect(Number(await page.getAttribute('#app', 'data-laplace-entropy'))).toBeCloseTo(
        state.laplace!.entropy,
        9,
      );
      await page.screenshot({ path: join(ARTIFACTS, 'playground-images-rotated.png') });
    }, 60_000);
  });
}
