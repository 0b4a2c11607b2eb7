#!/usr/bin/env node
// The packages as an npm user meets them: build, `npm pack` every package, install the tarballs into a fresh temporary
// project (registry for third-party deps only; no Dawn), run a Node ESM script and the CLI, type-check a TS consumer
// under strict without skipLibCheck (bundler and node16 resolution), bundle a page with esbuild and with vite at
// their defaults, and run both bundles in headless Chromium. Fixtures: scripts/package-check/.
//   node scripts/package-check.mjs [--skip-build] [--keep]
// Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) unless SEGLLM_EXPECT_BROWSER is unset and it is absent.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(repo, 'scripts/package-check');
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'segllm-package-check-'));
const app = join(work, 'app');
const bin = (p) => join(repo, 'node_modules', p);
const t0 = performance.now();

function run(cmd, argv, cwd = repo, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', ...opts.env } });
  if (r.status !== (opts.expect ?? 0)) {
    throw new Error(`${cmd} ${argv.join(' ')} (in ${cwd}) exited ${r.status}, expected ${opts.expect ?? 0}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

function step(name, fn) {
  const s = performance.now();
  return Promise.resolve(fn()).then((v) => {
    console.log(`ok ${name} (${((performance.now() - s) / 1000).toFixed(1)} s)${v ? `: ${v}` : ''}`);
  });
}

const PACKAGES = ['tensor', 'models', 'segllm', 'mrseg', 'cli'];

async function main() {
  if (!args.has('--skip-build')) await step('build', () => void run('npx', ['turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only']));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  await step('pack', () => {
    for (const p of PACKAGES) run('npm', ['pack', '--pack-destination', tarballs, '--silent'], join(repo, 'packages', p));
    return readdirSync(tarballs).join(', ');
  });
  mkdirSync(app);
  const deps = Object.fromEntries(readdirSync(tarballs).map((f) => [`@segllm/${f.replace(/^segllm-/, '').replace(/-\d+\.\d+\.\d+\.tgz$/, '')}`, `file:${join(tarballs, f)}`]));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'segllm-consumer', private: true, type: 'module', dependencies: deps }, null, 2));
  await step('install the tarballs (no Dawn)', () => {
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
    if (existsSync(join(app, 'node_modules/webgpu'))) throw new Error('webgpu (Dawn) was installed although it is an optional peer');
    const tests = run('find', ['node_modules/@segllm', '-name', '*.test.*'], app).stdout.trim();
    if (tests) throw new Error(`test files shipped:\n${tests}`);
    for (const p of ['tensor', 'models', 'core', 'mrseg', 'cli']) if (!existsSync(join(app, 'node_modules/@segllm', p, 'LICENSE'))) throw new Error(`@segllm/${p} has no LICENSE`);
  });
  for (const f of ['node-check.mjs', 'consumer.ts', 'page.js', 'index.html']) copyFileSync(join(fixtures, f), join(app, f));
  await step('node ESM script', () => run('node', ['node-check.mjs'], app).stdout.trim());
  await step('cli', () => {
    const v = run('npx', ['--no-install', 'segllm', '--version'], app).stdout.trim();
    const u = run('npx', ['--no-install', 'segllm', 'frobnicate'], app, { expect: 2 }).stderr;
    if (!/unknown command "frobnicate"/.test(u) || !/segllm demo/.test(u)) throw new Error(`unknown-command message:\n${u}`);
    return `--version ${v}; unknown command listed the commands`;
  });
  await step('types (strict, no skipLibCheck; bundler and node16)', () => {
    const base = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', typeRoots: [join(repo, 'node_modules/@types')] };
    const configs = {
      'tsconfig.bundler.json': { ...base, module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] },
      'tsconfig.node16.json': { ...base, module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'DOM'], types: ['node'] },
    };
    for (const [file, compilerOptions] of Object.entries(configs)) {
      writeFileSync(join(app, file), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }, null, 2));
      run('node', [bin('typescript/bin/tsc'), '-p', file], app);
    }
  });
  const esb = join(app, 'dist-esbuild');
  await step('bundle with esbuild (defaults, no externals)', () => {
    run('node', [bin('esbuild/bin/esbuild'), 'page.js', '--bundle', '--format=esm', `--outdir=${esb}`, '--log-level=error'], app);
    copyFileSync(join(app, 'index.html'), join(esb, 'index.html'));
    copyFileSync(join(app, 'node_modules/@segllm/core/assets/tokenizer/tokenizer.json.gz'), join(esb, 'tokenizer.json.gz'));
    return `${(readFileSync(join(esb, 'page.js')).length / 1e6).toFixed(2)} MB`;
  });
  const vit = join(app, 'dist-vite');
  await step('bundle with vite (defaults)', () => {
    writeFileSync(join(app, 'vite.config.mjs'), `export default { build: { outDir: ${JSON.stringify(vit)}, target: 'es2022' } };\n`);
    run('node', [bin('vite/bin/vite.js'), 'build', '--logLevel', 'error'], app);
    return readdirSync(join(vit, 'assets')).join(', ');
  });
  await step('run both bundles in Chromium', () => runInChromium({ esbuild: [esb, '?tokenizer=./tokenizer.json.gz'], vite: [vit, '?device=cpu-wasm'] }));
  console.log(`package check passed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

import { readFileSync } from 'node:fs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.gz': 'application/gzip', '.map': 'application/json', '.wasm': 'application/wasm' };

/** Serves each folder on 127.0.0.1 (cross-origin isolated, so cpu-wasm may use threads) and reads the page's verdict. */
async function runInChromium(sites) {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    if (process.env.SEGLLM_EXPECT_BROWSER === '1') throw new Error(`no Chromium at ${chromium}`);
    console.warn(`*** SKIPPED the browser run: no Chromium at ${chromium} (set CHROMIUM_PATH) ***`);
    return 'skipped';
  }
  const { chromium: pw } = await import(join(repo, 'node_modules/playwright/index.mjs'));
  const browser = await pw.launch({ executablePath: chromium, headless: true, args: ['--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking'] });
  const verdicts = [];
  try {
    for (const [name, [dir, query]] of Object.entries(sites)) {
      const server = createServer((req, res) => {
        const path = join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '') || 'index.html');
        if (!path.startsWith(dir)) return void res.writeHead(403).end();
        readFile(path).then(
          (b) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }).end(b),
          () => res.writeHead(404).end(),
        );
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      try {
        const page = await browser.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`http://127.0.0.1:${server.address().port}/index.html${query}`);
        await page.waitForFunction(() => document.getElementById('out').textContent !== 'running', null, { timeout: 240_000 });
        const v = JSON.parse(await page.textContent('#out'));
        if (!v.ok || errors.length) throw new Error(`${name} bundle failed in Chromium: ${v.error ?? ''} ${errors.join('; ')}`);
        if (v.rounds.join() !== '1,2' || v.refs.join() !== '1' || v.size.join() !== '40,30' || !v.sameAsImageData) throw new Error(`${name}: unexpected result ${JSON.stringify(v)}`);
        verdicts.push(`${name} on ${v.device}`);
        await page.close();
      } finally {
        server.close();
      }
    }
  } finally {
    await browser.close();
  }
  return verdicts.join(', ');
}

main()
  .catch((e) => {
    console.error(`package check FAILED: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (args.has('--keep')) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  });
