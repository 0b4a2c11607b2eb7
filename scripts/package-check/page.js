// Bundled by esbuild and vite at their defaults; runs in Chromium: the default model, two rounds with a reference,
// a PNG given as a Blob (decoded by the browser) and an ImageData.
import { env, loadDefaultModel } from '@segllm/core';

const out = document.getElementById('out');
const q = new URLSearchParams(location.search);
try {
  // esbuild leaves `new URL(asset, import.meta.url)` alone: the page serves the tokenizer and says where.
  if (q.has('tokenizer')) env.tokenizerUrl = new URL(q.get('tokenizer'), location.href);
  const model = await loadDefaultModel({ device: q.get('device') ?? 'auto' });
  const canvas = new OffscreenCanvas(40, 30);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(0, 0, 40, 30);
  ctx.fillStyle = '#dc2828';
  ctx.fillRect(10, 8, 16, 12);
  const session = await model.chat(await canvas.convertToBlob({ type: 'image/png' }));
  const r1 = await session.ask('Segment the red square.');
  const r2 = await session.ask('Segment the thing next to it. [REF:1]');
  const again = await model.chat(ctx.getImageData(0, 0, 40, 30));
  const r3 = await again.ask('Segment the red square.');
  model.dispose();
  out.textContent = JSON.stringify({ ok: true, device: model.device, rounds: [r1.round, r2.round], refs: r2.referencedRounds, size: [r1.width, r1.height], sameAsImageData: r3.box.join() === r1.box.join() });
} catch (e) {
  out.textContent = JSON.stringify({ ok: false, error: `${e.name}: ${e.message}` });
}
