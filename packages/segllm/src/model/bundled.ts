/**
 * The SegLLM tokenizer shipped with the package (assets/tokenizer/, Llama 2 licence: see the notes there), for tiny
 * models that have no checkpoint of their own. Node reads it from disk; browsers fetch it from `env.tokenizerUrl`.
 */
import { Tokenizer } from '@segllm/models';
import { nodeFs } from '@segllm/tensor/platform';
import { CheckpointError } from '../errors.ts';
import { env } from '../env.ts';

export { BUNDLED_TOKENIZER_URL } from '../env.ts';

async function gunzipText(body: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<string> {
  return new Response(body.pipeThrough(new DecompressionStream('gzip'))).text();
}

/** tokenizer.json text of the bundled tokenizer. */
export async function bundledTokenizerJson(url: URL | string = env.tokenizerUrl): Promise<string> {
  const u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  if (u.protocol === 'file:') {
    const fs = await nodeFs('reading the bundled tokenizer');
    return gunzipText(new Blob([await fs.readFile(u)]).stream());
  }
  const res = await fetch(u);
  if (!res.ok || !res.body) {
    throw new CheckpointError(`cannot fetch the bundled tokenizer at ${u.href} (HTTP ${res.status}): copy @segllm/core/assets/tokenizer/tokenizer.json.gz next to the bundle and set env.tokenizerUrl to its URL`);
  }
  return gunzipText(res.body);
}

export async function bundledTokenizer(url?: URL | string): Promise<Tokenizer> {
  return Tokenizer.fromString(await bundledTokenizerJson(url));
}
