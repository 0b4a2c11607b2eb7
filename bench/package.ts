/**
 * What an npm user pays (issue 14): install size of @segllm/core with its dependencies in a fresh project (without
 * and with Dawn), the web demo's bundle size (raw and gzip), and the cold and cached load time of a tiny checkpoint
 * from a hub id over a local HTTP server. Needs the packages built (npm run build) and the npm registry.
 *   npx tsx --conditions=@segllm/source bench/package.ts [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadDefaultModel, loadSegLLM, saveSegLLM, tinySegLLMConfigJson, bundledTokenizerJson, DEFAULT_MODEL } from '@segllm/core';
import { buildBrowserExample } from '../examples/browser/build.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3);
const work = mkdtempSync(join(tmpdir(), 'segllm-package-bench-'));
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;
const du = (dir: string): number => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];

function installSizes(): Record<string, string> {
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const p of ['tensor', 'models', 'segllm']) execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], { cwd: join(repo, 'packages', p) });
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bench-consumer', private: true, type: 'module' }));
  const npm = (args: string[]): void => void execFileSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  npm(['install', ...readdirSync(tarballs).map((f) => join(tarballs, f))]);
  const without = du(join(app, 'node_modules'));
  npm(['install', 'webgpu@0.6.2']);
  const withDawn = du(join(app, 'node_modules'));
  return { '@segllm/core + deps, no Dawn': mb(without), '+ webgpu (Dawn)': mb(withDawn) };
}

async function bundleSize(): Promise<Record<string, string>> {
  const out = join(work, 'web-demo');
  await buildBrowserExample(out, { minify: true });
  const js = readFileSync(join(out, 'main.js'));
  const tok = readFileSync(join(out, 'tokenizer.json.gz'));
  return { 'web demo main.js (minified)': mb(js.length), 'main.js gzip -9': mb(gzipSync(js, { level: 9 }).length), 'tokenizer.json.gz (fetched once)': mb(tok.length) };
}

async function loadTimes(): Promise<Record<string, string>> {
  const ckpt = join(work, 'ckpt');
  const model = await loadDefaultModel({ device: 'cpu' });
  await saveSegLLM(model, ckpt, { configJson: tinySegLLMConfigJson({ imageSize: DEFAULT_MODEL.imageSize }), tokenizerJson: await bundledTokenizerJson() });
  model.dispose();
  const files = new Map(readdirSync(ckpt).map((f) => [f, readFileSync(join(ckpt, f))]));
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const body = files.get((req.url ?? '').split('/').pop() ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const remoteHost = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const time = async (cache: string): Promise<number> => {
    const t0 = performance.now();
    const { model: m } = await loadSegLLM('bench/tiny/v1', { remoteHost, cache, device: 'cpu' });
    const ms = performance.now() - t0;
    m.dispose();
    return ms;
  };
  const cold: number[] = [];
  const cached: number[] = [];
  let cachedRequests = 0;
  for (let i = 0; i < runs; i++) {
    const cache = join(work, `cache-${i}`);
    cold.push(await time(cache));
    const before = requests;
    cached.push(await time(cache));
    cachedRequests += requests - before;
  }
  server.close();
  const size = [...files.values()].reduce((a, b) => a + b.length, 0);
  return {
    checkpoint: `${mb(size)} in ${files.size} files`,
    'cold load (download + load), median': `${median(cold).toFixed(0)} ms (${cold.map((v) => v.toFixed(0)).join(', ')})`,
    'cached load, median': `${median(cached).toFixed(0)} ms (${cached.map((v) => v.toFixed(0)).join(', ')}), ${cachedRequests} requests`,
  };
}

try {
  const rows = { ...installSizes(), ...(await bundleSize()), ...(await loadTimes()) };
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(42)} ${v}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
