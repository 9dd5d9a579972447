/**
 * What the browser tests share: a static file server on a loopback port and
 * Debian's Chromium driven through playwright-core. No browser is downloaded:
 * without /usr/bin/chromium (.ci/run installs it with apt-get) the tests skip
 * themselves and say why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Why the browser test `name` cannot run here (also printed), or undefined when Chromium is present. */
export function noChromium(name: string): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `${name} skipped: no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium with apt-get; it could not here)`;
  console.warn(reason);
  return reason;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * A static file server for `root` on an ephemeral loopback port; `headersFor`
 * adds response headers by path (e.g. those of cross-origin isolation).
 */
export function serve(
  root: string,
  headersFor: (path: string) => Record<string, string> = () => ({}),
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      ...headersFor(path),
    });
    response.end(readFileSync(file));
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      done({ server, url: `http://127.0.0.1:${port}/` });
    }),
  );
}

/** A running headless Chromium: its context, first page, and how to close both (profile included). */
export interface ChromiumSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile in a temporary directory. */
export async function launchChromium(viewport = { width: 1360, height: 900 }): Promise<ChromiumSession> {
  const profile = mkdtempSync(join(tmpdir(), 'laplace-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
