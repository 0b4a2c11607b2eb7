/**
 * Smoke run of the built page in headless Chromium (WebGPU on its SwiftShader adapter): serves dist/ over http, picks
 * an image, asks two rounds (the second with [REF:1]), an invalid reference and an undo, and prints the page's log.
 *   npm run build -w @segllm/example-browser && npm run smoke -w @segllm/example-browser -- <image.png>
 * Needs Playwright (a dev dependency of @segllm/tensor) and Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));
const image = process.argv[2];
if (!image) throw new Error('usage: npm run smoke -w @segllm/example-browser -- <image file>');
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.gz': 'application/gzip', '.map': 'application/json' };
const server = createServer((req, res) => {
  const path = join(dist, (req.url ?? '/').split('?')[0].replace(/^\/+/, '') || 'index.html');
  readFile(path).then(
    (b) => res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(b),
    () => res.writeHead(404).end(),
  );
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--enable-unsafe-webgpu', '--no-first-run'] });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const logHas = (s: string): Promise<unknown> => page.waitForFunction((t) => document.getElementById('log')!.textContent.includes(t), s, { timeout: 300_000 });
  await page.goto(`http://127.0.0.1:${port}/index.html`);
  await logHas('Pick an image');
  await page.setInputFiles('#file', image);
  await logHas('Ask away');
  for (const [text, expect] of [['Segment the largest object.', 'round 1'], ['Segment the one right of it. [REF:1]', 'round 2'], ['Segment [REF:5] it.', 'InvalidReferenceError']]) {
    await page.fill('#prompt', text);
    await page.click('#ask');
    await logHas(expect);
  }
  await page.click('#undo');
  await logHas('undone');
  console.log(await page.textContent('#log'));
} finally {
  await browser.close();
  server.close();
}
