/**
 * Single-round generators: hard ("the other <class>" given one of two instances), attribute descriptions
 * (COCO) and semantic class names (ADE20K, COCO-Stuff).
 */
import { cleanText, formatConversation } from '../conversation/format.ts';
import type { ConversationJson } from '../conversation/types.ts';
import { ask, captionText, keyOf, readableName, type GenOptions } from './common.ts';
import { rngFor } from './rng.ts';
import type { AttributeInput, HardInput, InstanceInput, SemanticInput } from './types.ts';

/**
 * For every class with exactly two instances X and Y: "[ENCODE X] segment the other <class>" -> Y and the same
 * with X and Y swapped. The reference is a given mask in round 1 (no earlier round), as in the paper.
 */
export function generateHard(input: HardInput, opts: GenOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train' } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `hard|${input.dataset}|${key}`);
  const byClass = new Map<string, InstanceInput[]>();
  for (const o of input.objects) byClass.set(o.category, [...(byClass.get(o.category) ?? []), o]);
  const out: ConversationJson[] = [];
  for (const [cat, list] of byClass) {
    if (list.length !== 2) continue;
    for (const [x, y] of [
      [list[0], list[1]],
      [list[1], list[0]],
    ]) {
      const text = ask(rng, 'hard', split, { category: readableName(cat) });
      out.push(
        formatConversation({
          convId: `${input.dataset}_hard_${key}_${out.length}`,
          image: input.image,
          dataset: input.dataset,
          rounds: [{ text, task: 'hard', target: y.id, refs: [{ round: null, mask: x.id }] }],
        }),
      );
    }
  }
  return out;
}

/** One single-round conversation per described object. */
export function generateAttribute(input: AttributeInput, opts: GenOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train' } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `attribute|${input.dataset}|${key}`);
  return input.objects
    .filter((o) => cleanText(o.description).length > 0)
    .map((o, i) =>
      formatConversation({
        convId: `${input.dataset}_attribute_${key}_${i}`,
        image: input.image,
        dataset: input.dataset,
        rounds: [
          {
            text: ask(rng, 'attribute', split, { description: captionText(o.description) }),
            task: 'attribute',
            target: o.id,
            refs: [],
          },
        ],
      }),
    );
}

/** One single-round conversation per class present in the image. */
export function generateSemantic(input: SemanticInput, opts: GenOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train' } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `semantic|${input.dataset}|${key}`);
  return input.classes.map((c, i) =>
    formatConversation({
      convId: `${input.dataset}_semantic_${key}_${i}`,
      image: input.image,
      dataset: input.dataset,
      rounds: [
        { text: ask(rng, 'semantic', split, { category: readableName(c.name) }), task: 'semantic', target: c.id, refs: [] },
      ],
    }),
  );
}
