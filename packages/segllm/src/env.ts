/** Process-wide settings of @segllm/core (as transformers.js's `env`): change them before loading. */
import { DEFAULT_REMOTE_HOST } from './hub/source.ts';

/** The package's own copy of the tokenizer (a file: URL in Node; what a bundler made of it in a browser). */
export const BUNDLED_TOKENIZER_URL = new URL('../assets/tokenizer/tokenizer.json.gz', import.meta.url);

export const env: {
  /** Host that hub ids resolve on (`<host>/<owner>/<repo>/resolve/<revision>/<variant>/<file>`). */
  remoteHost: string;
  /**
   * Where browsers fetch the bundled tokenizer (tokenizer.json.gz, in @segllm/core's assets/tokenizer). Vite emits it
   * next to the bundle by itself; with esbuild, copy it and set this URL.
   */
  tokenizerUrl: URL | string;
} = {
  remoteHost: DEFAULT_REMOTE_HOST,
  tokenizerUrl: BUNDLED_TOKENIZER_URL,
};
