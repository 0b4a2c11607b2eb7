/**
 * Template banks written for this project. Each query type's surface forms come from a small grammar:
 *   politeness wrapper x verb x body phrasing.
 * Training and validation use disjoint verb lists, so every validation template is unseen in training (the
 * template-robustness split of the paper); wrappers and bodies are shared.
 *
 * Placeholders: {target} referring expression, {ref} name of the earlier output ("instance 2", "the output of
 * round 2", "the red car"), {relation} relation phrase, {part}, {object}, {category}, {description}.
 */

export type QueryType = 'describe' | 'relative' | 'part' | 'interaction' | 'hard' | 'attribute' | 'semantic';
export type Split = 'train' | 'val';

export const QUERY_TYPES: readonly QueryType[] = [
  'describe',
  'relative',
  'part',
  'interaction',
  'hard',
  'attribute',
  'semantic',
];

/** Placeholders each query type's templates must contain (and no others). */
export const SLOTS: Record<QueryType, readonly string[]> = {
  describe: ['target'],
  relative: ['target', 'relation', 'ref'],
  part: ['part', 'ref'],
  interaction: ['object', 'ref', 'relation'],
  hard: ['category'],
  attribute: ['description'],
  semantic: ['category'],
};

const WRAPPERS: readonly ((vp: string) => string)[] = [
  (vp) => `${vp}.`,
  (vp) => `Please ${vp}.`,
  (vp) => `Could you ${vp}?`,
  (vp) => `Can you ${vp}?`,
  (vp) => `Would you ${vp}, please?`,
  (vp) => `${vp}, please.`,
  (vp) => `I'd like you to ${vp}.`,
  (vp) => `Kindly ${vp}.`,
];

const VERBS: Record<Split, readonly string[]> = {
  train: [
    'segment',
    'outline',
    'highlight',
    'mask out',
    'find and segment',
    'locate and mask',
    'pick out',
    'show me',
    'select',
    'produce a mask for',
  ],
  val: ['isolate', 'delineate', 'trace the outline of', 'mark', 'cut out', 'give me the mask of', 'draw a mask over'],
};

const BODIES: Record<QueryType, readonly string[]> = {
  describe: ['{target}', 'the region of {target}', '{target} in the image'],
  relative: ['{target} that is {relation} {ref}', '{target} which is {relation} {ref}', '{target}, {relation} {ref}'],
  part: ['the {part} of {ref}', 'the {part} that belongs to {ref}', 'just the {part} of {ref}'],
  interaction: ['the {object} that {ref} {relation}', 'the {object} which {ref} {relation}'],
  hard: ['the other {category}', 'the remaining {category}', 'the {category} that is not the marked one'],
  attribute: ['the object that {description}', 'the thing that {description}', 'whatever {description}'],
  semantic: ['the {category}', 'all of the {category}', 'every part of the image showing {category}'],
};

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function build(type: QueryType, split: Split): string[] {
  const out = new Set<string>();
  for (const wrap of WRAPPERS) {
    for (const verb of VERBS[split]) {
      for (const body of BODIES[type]) out.add(capitalise(wrap(`${verb} ${body}`)));
    }
  }
  return [...out];
}

const CACHE = new Map<string, readonly string[]>();

/** All templates of a query type for a split (stable order). */
export function templates(type: QueryType, split: Split): readonly string[] {
  const key = `${type}/${split}`;
  let t = CACHE.get(key);
  if (!t) {
    t = Object.freeze(build(type, split));
    CACHE.set(key, t);
  }
  return t;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Fills {slot} placeholders; throws TemplateError when a slot has no value. */
export function fillTemplate(template: string, slots: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = slots[name];
    if (v === undefined) throw new TemplateError(`template "${template}" needs a value for {${name}}`);
    return v;
  });
}
