/** Runs every bench/*.bench.ts of @segllm/mrseg in name order (each benchmark prints its own lines on import). */
import { readdirSync } from 'node:fs';

const dir = new URL('./', import.meta.url);
for (const f of readdirSync(dir).filter((n) => n.endsWith('.bench.ts')).sort()) {
  await import(new URL(f, dir).href);
}
