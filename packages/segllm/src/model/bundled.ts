/**
 * The SegLLM tokenizer shipped with the package (assets/tokenizer/, Llama 2 licence: see the notes there), for tiny
 * models that have no checkpoint of their own. Node reads it from disk; browsers fetch it next to the module.
 */
import { Tokenizer } from '@segllm/models';

export const BUNDLED_TOKENIZER_URL = new URL('../../assets/tokenizer/tokenizer.json.gz', import.meta.url);

/** tokenizer.json text of the bundled tokenizer. */
export async function bundledTokenizerJson(url: URL = BUNDLED_TOKENIZER_URL): Promise<string> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    const { gunzipSync } = await import('node:zlib');
    return gunzipSync(await readFile(url)).toString('utf8');
  }
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`cannot fetch the bundled tokenizer at ${String(url)} (HTTP ${res.status}): serve assets/tokenizer/tokenizer.json.gz next to the bundle`);
  return new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).text();
}

export async function bundledTokenizer(url?: URL): Promise<Tokenizer> {
  return Tokenizer.fromString(await bundledTokenizerJson(url));
}
