/**
 * Hierarchical conversations (PACO-LVIS, Pascal-Part): 1-4 objects per image and 1-4 parts per object; each
 * object is asked for first, then its parts, each part round referencing the object's round.
 */
import { formatConversation } from '../conversation/format.ts';
import type { ConversationJson, RoundSpec } from '../conversation/types.ts';
import { ask, captionInstances, keyOf, readableName, refName, withArticle, type GenOptions } from './common.ts';
import { rngFor } from './rng.ts';
import type { HierarchicalInput } from './types.ts';

export interface HierarchicalOptions extends GenOptions {
  maxObjects?: number;
  maxParts?: number;
}

export function generateHierarchical(input: HierarchicalInput, opts: HierarchicalOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train', maxObjects = 4, maxParts = 4 } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `hierarchical|${input.dataset}|${key}`);
  const auto = captionInstances(input.objects);
  const usable = input.objects
    .map((o) => {
      const counts = new Map<string, number>();
      for (const p of o.parts) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
      const parts = o.parts.filter((p) => counts.get(p.name) === 1);
      const caption = o.caption !== undefined ? withArticle(o.caption) : auto.get(o.id);
      return { o, parts, caption };
    })
    .filter((x): x is typeof x & { caption: string } => x.parts.length > 0 && x.caption !== undefined);
  if (usable.length === 0) return [];
  const objects = rng.sample(usable, rng.int(1, Math.min(maxObjects, usable.length)));
  const rounds: RoundSpec[] = [];
  for (const { o, parts, caption } of objects) {
    rounds.push({ text: ask(rng, 'describe', split, { target: caption }), task: 'referring', target: o.id, refs: [] });
    const objRound = rounds.length;
    for (const p of rng.sample(parts, rng.int(1, Math.min(maxParts, parts.length)))) {
      rounds.push({
        text: ask(rng, 'part', split, { part: readableName(p.name), ref: refName(rng, objRound, caption) }),
        task: 'part',
        target: p.id,
        refs: [{ round: objRound, mask: o.id }],
      });
    }
  }
  return [
    formatConversation({ convId: `${input.dataset}_hierarchical_${key}`, image: input.image, dataset: input.dataset, rounds }),
  ];
}
