/** Helpers shared by the conversation generators. */
import { cleanText } from '../conversation/format.ts';
import { fillTemplate, templates, type QueryType, type Split } from '../templates/banks.ts';
import { pairLocationWords } from './relations.ts';
import type { Rng } from './rng.ts';
import type { Box, MaskId } from './types.ts';

export interface GenOptions {
  /** Seed of the per-image random streams (default 0). */
  seed?: number;
  /** Template split: training or (disjoint) validation surface forms (default "train"). */
  split?: Split;
}

export function keyOf(input: { image: string; key?: string }): string {
  return input.key ?? input.image;
}

/** A random template of the type and split, filled with the slots. */
export function ask(rng: Rng, type: QueryType, split: Split, slots: Record<string, string>): string {
  return fillTemplate(rng.pick(templates(type, split)), slots);
}

/**
 * How a later round names an earlier output: by its caption half the time, otherwise "instance j" or
 * "the output of round j" with equal probability.
 */
export function refName(rng: Rng, round: number, caption: string): string {
  if (rng.chance(0.5)) return caption;
  return rng.chance(0.5) ? `instance ${round}` : `the output of round ${round}`;
}

/**
 * A caption as it reads inside a question: markup characters replaced, trailing punctuation dropped, and a
 * capitalised first word lower-cased ("A smiling woman." -> "a smiling woman"; acronyms such as "TV" stay).
 */
export function captionText(caption: string): string {
  const c = cleanText(caption).replace(/[\s.!?;,]+$/, '');
  return /^[A-Z][a-z\s]/.test(c) ? c.charAt(0).toLowerCase() + c.slice(1) : c;
}

/** "the <name>" unless the phrase already starts with an article or determiner. */
export function withArticle(name: string): string {
  const n = captionText(name);
  return /^(the|a|an|this|that|his|her|its|their)\s/i.test(n) ? n : `the ${n}`;
}

/** Readable class name: LVIS/PACO names use underscores ("baseball_bat" -> "baseball bat", "bow_(weapon)" -> "bow (weapon)"). */
export function readableName(name: string): string {
  return cleanText(name.replace(/_/g, ' '));
}

export interface Instance {
  id: MaskId;
  box: Box;
  category: string;
}

/**
 * Captions for instances by class: a class with one instance gets "the <class>", a class with two gets location
 * words ("the <class> on the left" / "... at the top"), classes with more instances get none (ambiguous).
 */
export function captionInstances(objects: readonly Instance[]): Map<MaskId, string> {
  const byClass = new Map<string, Instance[]>();
  for (const o of objects) {
    const list = byClass.get(o.category) ?? [];
    list.push(o);
    byClass.set(o.category, list);
  }
  const out = new Map<MaskId, string>();
  for (const [cat, list] of byClass) {
    const name = withArticle(readableName(cat));
    if (list.length === 1) out.set(list[0].id, name);
    else if (list.length === 2) {
      const [wa, wb] = pairLocationWords(list[0].box, list[1].box);
      out.set(list[0].id, `${name} ${wa}`);
      out.set(list[1].id, `${name} ${wb}`);
    }
  }
  return out;
}
