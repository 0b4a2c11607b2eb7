/**
 * Interactional conversations (Visual Genome, Shapes relations): up to 4 relationships per image, each a
 * two-round conversation: the subject, then the object through its relationship to round 1's output.
 */
import { formatConversation } from '../conversation/format.ts';
import type { ConversationJson } from '../conversation/types.ts';
import { ask, keyOf, readableName, refName, withArticle, type GenOptions } from './common.ts';
import { rngFor } from './rng.ts';
import type { InteractionalInput, NamedObject, Relationship } from './types.ts';

export interface InteractionalOptions extends GenOptions {
  maxPerImage?: number;
}

const PREPOSITIONS = new Set([
  'on', 'in', 'at', 'by', 'near', 'under', 'above', 'below', 'behind', 'beside', 'inside', 'over', 'next',
  'against', 'along', 'across', 'around', 'between', 'beneath', 'underneath', 'of', 'with', 'touching',
  'connected',
]);

/**
 * The predicate as it reads after "the <object> that <subject>": prepositions and -ing forms get "is"
 * ("is on", "is holding"), verbs stay ("wears", "has").
 */
export function predicatePhrase(predicate: string): string {
  const p = readableName(predicate).toLowerCase();
  const first = p.split(' ')[0];
  if (/^(is|are|was|were)\s/.test(p)) return p;
  if (PREPOSITIONS.has(first) || first.endsWith('ing')) return `is ${p}`;
  return p;
}

export function generateInteractional(input: InteractionalInput, opts: InteractionalOptions = {}): ConversationJson[] {
  const { seed = 0, split = 'train', maxPerImage = 4 } = opts;
  const key = keyOf(input);
  const rng = rngFor(seed, `interactional|${input.dataset}|${key}`);
  const byId = new Map<string, NamedObject>(input.objects.map((o) => [String(o.id), o]));
  const seen = new Set<string>();
  const valid: Relationship[] = [];
  for (const r of input.relationships) {
    const s = byId.get(String(r.subject));
    const o = byId.get(String(r.object));
    const sig = `${String(r.subject)}|${r.predicate.toLowerCase()}|${String(r.object)}`;
    if (!s || !o || String(s.id) === String(o.id) || seen.has(sig) || readableName(r.predicate) === '') continue;
    seen.add(sig);
    valid.push(r);
  }
  return rng.sample(valid, maxPerImage).map((r, i) => {
    const s = byId.get(String(r.subject))!;
    const o = byId.get(String(r.object))!;
    const subjectCaption = withArticle(s.caption ?? readableName(s.name));
    const rounds = [
      { text: ask(rng, 'describe', split, { target: subjectCaption }), task: 'referring', target: s.id, refs: [] },
      {
        text: ask(rng, 'interaction', split, {
          object: readableName(o.name),
          ref: refName(rng, 1, subjectCaption),
          relation: predicatePhrase(r.predicate),
        }),
        task: 'interaction',
        target: o.id,
        refs: [{ round: 1, mask: s.id }],
      },
    ];
    return formatConversation({
      convId: `${input.dataset}_interactional_${key}_${i}`,
      image: input.image,
      dataset: input.dataset,
      rounds,
    });
  });
}
