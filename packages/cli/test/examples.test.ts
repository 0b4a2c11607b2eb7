/** The examples build and run: the browser bundle (esbuild) and the Node chat script. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBrowserExample } from '../../../examples/browser/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = mkdtempSync(join(tmpdir(), 'segllm-browser-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples', () => {
  it('browser: bundles the web demo with esbuild with no externals and no Node-only code', async () => {
    const { warnings, externalImports } = await buildBrowserExample(out, { minify: false });
    expect(warnings).toEqual([]);
    // The browser build takes the packages' browser conditions: nothing is left outside the bundle.
    expect(externalImports).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['index.html', 'main.js', 'main.js.map', 'mozjpeg_dec.wasm', 'tokenizer.json.gz']);
    const js = readFileSync(join(out, 'main.js'), 'utf8');
    for (const name of ['SegLLM = class', 'ChatSession = class', 'HipieDecoder = class', 'DecompressionStream', 'maskRoundAt']) expect(js).toContain(name);
    for (const nodeOnly of ['node:fs', 'pngjs', 'node:zlib']) expect(js).not.toContain(nodeOnly);
    expect(js).toContain('new URL("mozjpeg_dec.wasm", import.meta.url)');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('<script type="module" src="./main.js"></script>');
    expect(readFileSync(join(out, 'tokenizer.json.gz')).equals(readFileSync(join(root, 'packages/segllm/assets/tokenizer/tokenizer.json.gz')))).toBe(true);
  });

  it('node-chat: runs the tiny random model through rounds, a rejected reference and undo', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), ['--conditions=@segllm/source', join(root, 'examples/node-chat/chat.ts')], { cwd: root });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('tiny SegLLM with RANDOM weights: the masks below are meaningless');
    expect(lines[1]).toMatch(/^round 1 "Segment the red square\.": box \[.*\], score [\d.]+, \d+ of 3072 px$/);
    expect(lines[2]).toMatch(/^round 2 "Segment the object to the right of \[REF:1\]\.": .*, refers to round 1$/);
    expect(lines[3]).toBe('rejected "Segment the circle. [REF:7]": [REF:7] in round 3: only rounds 1..2 have outputs to refer to');
    expect(lines[4]).toMatch(/^round 3 "Segment the background\.": /);
    expect(JSON.parse(lines[5].replace('history after undo: ', ''))).toEqual([
      { round: 1, text: 'Segment the red square.', refs: [] },
      { round: 2, text: 'Segment the object to the right of [REF:1].', refs: [1] },
    ]);
  });
});
