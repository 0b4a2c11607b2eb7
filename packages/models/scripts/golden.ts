/**
 * Golden-parity runner: `npm run golden -w @segllm/models -- <kind> <args...>`. Prints one JSON line per compared
 * tensor or prompt and a final summary line; exits 1 when a comparison fails, 2 on bad usage.
 * Add a kind by adding an entry to HANDLERS.
 */
import { runPreprocessGolden } from './golden-preprocess.ts';
import { runTokenizeGolden } from './golden-tokenize.ts';
import { runClipGolden, runLlamaGolden, runResnetGolden } from './golden-models.ts';
import { runHipieGolden } from './golden-hipie.ts';

interface Handler {
  usage: string;
  run: (args: string[]) => Promise<boolean>;
}

const HANDLERS: Record<string, Handler> = {
  preprocess: { usage: 'preprocess <preprocess.safetensors[.gz]> <image file>', run: runPreprocessGolden },
  tokenize: { usage: 'tokenize <tokenizer.json[.gz]> <tokenize.json>', run: runTokenizeGolden },
  clip: { usage: 'clip <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]', run: runClipGolden },
  llama: { usage: 'llama <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]', run: runLlamaGolden },
  resnet: { usage: 'resnet <weights.safetensors> <io.safetensors> [--backend cpu|webgpu]', run: runResnetGolden },
  hipie: { usage: 'hipie <weights.safetensors> <io.safetensors> [--backend cpu|webgpu]', run: runHipieGolden },
};

function usage(): string {
  return 'usage: npm run golden -w @segllm/models -- <kind> <args...>\n' + Object.values(HANDLERS).map((h) => `  ${h.usage}`).join('\n');
}

const [kind, ...args] = process.argv.slice(2);
const handler = kind === undefined ? undefined : HANDLERS[kind];
if (handler === undefined) {
  process.stderr.write(`${kind === undefined ? 'no kind given' : `unknown kind "${kind}"`}\n${usage()}\n`);
  process.exit(2);
}
handler
  .run(args)
  .then((ok) => process.exit(ok ? 0 : 1))
  .catch((e: unknown) => {
    process.stderr.write(`golden ${kind}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n${usage()}\n`);
    process.exit(2);
  });
