/**
 * Bundles the web demo (main.ts) for browsers with esbuild into dist/ (main.js, index.html, tokenizer.json.gz, and the JPEG
 * decoder's mozjpeg_dec.wasm, which the bundled @jsquash/jpeg glue fetches next to main.js).
 *   npm run build -w @segllm/example-browser      then serve dist/ over http (npm run serve -w @segllm/example-browser)
 * No externals: @segllm/* keep their Node-only code behind the `node` export condition, which a browser build never
 * takes. The tokenizer is copied next to the bundle (the page sets env.tokenizerUrl to it).
 */
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const TOKENIZER = join(here, '../../packages/segllm/assets/tokenizer/tokenizer.json.gz');
const JPEG_WASM = createRequire(join(here, '../../packages/models/package.json')).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');

export async function buildBrowserExample(outdir = join(here, 'dist'), opts: { minify?: boolean } = {}): Promise<{ outdir: string; warnings: string[]; externalImports: { path: string; kind: string }[] }> {
  await mkdir(outdir, { recursive: true });
  const r = await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@segllm/source'],
    outfile: join(outdir, 'main.js'),
    minify: opts.minify ?? true,
    sourcemap: true,
    logLevel: 'silent',
    metafile: true,
  });
  await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
  await copyFile(TOKENIZER, join(outdir, 'tokenizer.json.gz'));
  await copyFile(JPEG_WASM, join(outdir, 'mozjpeg_dec.wasm'));
  const externalImports = Object.values(r.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external)
    .map((i) => ({ path: i.path, kind: i.kind }));
  return { outdir, warnings: r.warnings.map((w) => w.text), externalImports };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outdir, warnings } = await buildBrowserExample();
  for (const w of warnings) console.warn(`warning: ${w}`);
  console.log(`built ${outdir}: serve it over http (e.g. python3 -m http.server -d ${outdir}) and open index.html in a WebGPU browser`);
}
