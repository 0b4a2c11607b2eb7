/**
 * Conversation generation throughput: conversations (and rounds) per second on the real fixtures
 * (RefCOCOg, LVIS, Visual Genome, COCO hard, PACO) and on MRSeg-Shapes (generators only, and the full pipeline
 * scene -> pixels -> RLE annotations -> conversations). Importing this module runs the benchmark and prints one
 * line per case; run it with `npx tsx --conditions=@segllm/source packages/mrseg/bench/generate.bench.ts` or via
 * bench/index.ts.
 */
import { readFileSync } from 'node:fs';
import {
  cocoHardInputs,
  generateAttribute,
  generateHard,
  generateHierarchical,
  generateInteractional,
  generatePositional,
  generateSemantic,
  generateShapesSample,
  lvisPositionalInputs,
  pacoHierarchicalInputs,
  readCocoInstances,
  readLvis,
  readPaco,
  readReferJson,
  readVgSceneGraphs,
  refcocoPositionalInputs,
  vgInteractionalInputs,
  type ConversationJson,
} from '@segllm/mrseg';

const FIX = new URL('../test/fixtures/gen/', import.meta.url);
const json = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIX), 'utf8'));

/** Repeats `fn` (one pass over all inputs, with a new seed each time) for at least `minMs`. */
function measure(name: string, fn: (seed: number) => ConversationJson[], minMs = 400): void {
  fn(-1); // warm-up
  let convs = 0;
  let rounds = 0;
  let passes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    for (const c of fn(passes++)) {
      convs++;
      rounds += c.conversations.length / 2;
    }
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(44)} ${(convs / s).toFixed(0).padStart(9)} conv/s ${(rounds / s).toFixed(0).padStart(9)} rounds/s  (${passes} passes)`,
  );
}

const refs = readReferJson(readFileSync(new URL('refcocog_refs_umd.json', FIX), 'utf8'));
const instances = readCocoInstances(json('refcocog_instances.json'));
const refInputs = refcocoPositionalInputs(refs, instances, { dataset: 'refcocog' });
const hardInputs = cocoHardInputs(instances, { dataset: 'refcoco' });
const lvisInputs = lvisPositionalInputs(readLvis(json('lvis_val_12.json')), { dataset: 'lvis' });
const vgInputs = vgInteractionalInputs(readVgSceneGraphs(json('vg3_scene_graphs.json')), { dataset: 'visual_genome' });
const pacoInputs = pacoHierarchicalInputs(readPaco(json('paco_tiny.json')), { dataset: 'paco_lvis' });

console.log('# conversation generation (packages/mrseg/bench/generate.bench.ts)');
measure('positional  RefCOCOg fixture (15 images)', (seed) => refInputs.flatMap((i) => generatePositional(i, { seed })));
measure('positional  LVIS v0.5 fixture (11 images)', (seed) => lvisInputs.flatMap((i) => generatePositional(i, { seed })));
measure('interactional  VG fixture (3 images)', (seed) => vgInputs.flatMap((i) => generateInteractional(i, { seed })));
measure('hard  RefCOCOg instances (15 images)', (seed) => hardInputs.flatMap((i) => generateHard(i, { seed })));
measure('hierarchical  PACO tiny fixture (2 images)', (seed) => pacoInputs.flatMap((i) => generateHierarchical(i, { seed })));

const shapes = Array.from({ length: 50 }, (_, i) => generateShapesSample(i, 'train', 1, { nextAnn: 1, nextRel: 1 }).annotations);
measure('all six generators  MRSeg-Shapes (50 scenes)', (seed) =>
  shapes.flatMap((a) => [
    ...generatePositional(a.positional, { seed }),
    ...generateHierarchical(a.hierarchical, { seed }),
    ...generateInteractional(a.interactional, { seed }),
    ...generateHard(a.hard, { seed }),
    ...generateAttribute(a.attribute, { seed }),
    ...generateSemantic(a.semantic, { seed }),
  ]),
);
let index = 0;
measure('full pipeline  MRSeg-Shapes (render+RLE+convs)', (seed) => {
  const s = generateShapesSample(index++, 'train', seed, { nextAnn: 1, nextRel: 1 });
  return Object.values(s.conversations).flat();
}, 1500);
