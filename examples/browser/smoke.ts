/**
 * The web demo in headless Chromium (WebGPU on SwiftShader, --enable-unsafe-webgpu): builds it, serves dist/ on
 * 127.0.0.1, picks an MRSeg-Shapes scene, asks round 1, clicks inside round 1's mask to insert [REF:1], asks round 2,
 * undoes it, and saves a screenshot after each step (to $SEGLLM_SCREENSHOTS or dist/screenshots).
 *   npx tsx --conditions=@segllm/source examples/browser/smoke.ts
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and Playwright (a dev dependency of @segllm/tensor).
 */
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { VAL_SEED, encodePng, generateShapesSample } from '@segllm/mrseg';
import { buildBrowserExample } from './build.ts';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));
const shots = process.env.SEGLLM_SCREENSHOTS ?? join(dist, 'screenshots');
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.gz': 'application/gzip', '.map': 'application/json', '.png': 'image/png' };

/** What the test reads of the page's state: the device and per round its references, width and a pixel of its mask. */
interface DemoState {
  device: string;
  results: { round: number; refs: number[]; width: number; hit: number }[];
}

await buildBrowserExample(dist);
mkdirSync(shots, { recursive: true });
const sample = generateShapesSample(0, 'val', VAL_SEED, { nextAnn: 1, nextRel: 1 });
const { width, height, rgb } = sample.rendered;
const imagePath = join(shots, 'scene.png');
writeFileSync(imagePath, encodePng({ width, height, channels: 3, data: rgb }));

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
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.setDefaultTimeout(300_000); // rounds on SwiftShader block the page for a while
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const statusHas = (s: string): Promise<unknown> => page.waitForFunction((t) => document.getElementById('status')!.textContent.includes(t), s, { timeout: 300_000 });
  const state = (): Promise<DemoState> =>
    page.evaluate(() => {
      const d = (window as unknown as { segllmDemo: { model: { device: string }; results: { round: number; referencedRounds: number[]; width: number; mask: Uint8Array }[] } }).segllmDemo;
      return { device: d.model.device, results: d.results.map((r) => ({ round: r.round, refs: r.referencedRounds, width: r.width, hit: r.mask.indexOf(1) })) };
    });
  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.goto(`http://127.0.0.1:${port}/index.html`);
  await statusHas('Pick or drop an image');
  await page.setInputFiles('#file', imagePath);
  await statusHas('encoded in');
  await page.fill('#prompt', 'Segment the largest object.');
  await page.click('#ask');
  await statusHas('round 1:');
  await shot('1-round-1');
  // Click-to-reference: a pixel inside round 1's mask, mapped to the canvas's on-screen box.
  const r1 = (await state()).results[0];
  const hit = r1.hit;
  if (hit < 0) throw new Error('round 1 predicted an empty mask: nothing to click on');
  const box = (await page.locator('#canvas').boundingBox())!;
  await page.fill('#prompt', 'Segment the object next to ');
  await page.mouse.click(box.x + ((hit % r1.width) + 0.5) * (box.width / width), box.y + (Math.floor(hit / r1.width) + 0.5) * (box.height / height));
  const prompt = await page.inputValue('#prompt');
  if (prompt !== 'Segment the object next to [REF:1]') throw new Error(`clicking the mask gave the prompt "${prompt}"`);
  await page.click('#ask');
  await statusHas('round 2:');
  await shot('2-round-2-with-reference');
  const s = await state();
  if (s.results.length !== 2 || s.results[1].refs.join() !== '1') throw new Error(`round 2 did not refer to round 1: ${JSON.stringify(s.results.map((r) => r.refs))}`);
  const items = await page.locator('#history li').count();
  await page.click('#undo');
  await statusHas('undone; 1 round(s) left');
  await shot('3-undo');
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(`web demo ok on ${s.device}: 2 rounds (round 2 referred to round 1 by a click), history ${items} items, undo; screenshots in ${shots}`);
  console.log((await page.textContent('#status')) ?? '');
} finally {
  await browser.close();
  server.close();
}
