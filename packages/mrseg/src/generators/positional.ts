/**
 * Positional conversations (RefCOCO/+/g, LVIS): 2-18 rounds per image, as the paper samples 2-18 annotations
 * (an image with fewer than 2 captioned objects gives none; one instance may come back through another caption). Round 1 asks for an object by its
 * caption; each later round asks by caption alone with probability 1/3, otherwise by caption plus its position
 * relative to a uniformly chosen earlier round's output (see relations.ts).
 */
import { formatConversation } from '../conversation/format.ts';
import type { ConversationJson, RoundSpec } from '../conversation/types.ts';
import { ask, captionInstances, captionText, keyOf, refName, type GenOptions } from './common.ts';
import { RELATION_PHRASES, relation } from './relations.ts';
import { rngFor } from './rng.ts';
import type { CaptionedObject, InstanceInput, PositionalInput } from './types.ts';

export interface PositionalOptions extends GenOptions {
  minRounds?: number;
  maxRounds?: number;
  /** Probability that a later round asks by caption only (default 1/3). */
  selfProbability?: number;
}

export function generatePositional(input: PositionalInput, opts: PositionalOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train', minRounds = 2, maxRounds = 18, selfProbability = 1 / 3 } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `positional|${input.dataset}|${key}`);
  const pairs: { o: CaptionedObject; caption: string }[] = [];
  for (const o of input.objects) {
    for (const c of o.captions) {
      const caption = captionText(c);
      if (caption.length > 0) pairs.push({ o, caption });
    }
  }
  const hi = Math.min(maxRounds, pairs.length);
  if (pairs.length === 0 || hi < minRounds) return [];
  const n = rng.int(minRounds, hi);
  const chosen = rng.sample(pairs, n);
  const rounds: RoundSpec[] = chosen.map(({ o, caption }, i) => {
    if (i === 0 || rng.chance(selfProbability)) {
      return { text: ask(rng, 'describe', split, { target: caption }), task: 'referring', target: o.id, refs: [] };
    }
    const j = rng.int(1, i);
    const prev = chosen[j - 1];
    const rel = relation(o.box, prev.o.box, String(o.id) === String(prev.o.id));
    const text = ask(rng, 'relative', split, {
      target: caption,
      relation: RELATION_PHRASES[rel],
      ref: refName(rng, j, prev.caption),
    });
    return { text, task: 'positional', target: o.id, refs: [{ round: j, mask: prev.o.id }] };
  });
  return [
    formatConversation({ convId: `${input.dataset}_positional_${key}`, image: input.image, dataset: input.dataset, rounds }),
  ];
}

/**
 * LVIS-style captioned objects: only classes with one or two instances in the image (and not in `exclude`,
 * e.g. the COCO classes); two instances get location words so the captions are unambiguous.
 */
export function lvisCaptionedObjects(
  objects: readonly InstanceInput[],
  exclude: ReadonlySet<string> = new Set(),
): CaptionedObject[] {
  const kept = objects.filter((o) => !exclude.has(o.category));
  const captions = captionInstances(kept);
  return kept.filter((o) => captions.has(o.id)).map((o) => ({ ...o, captions: [captions.get(o.id)!] }));
}
