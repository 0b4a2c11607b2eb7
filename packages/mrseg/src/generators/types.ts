/**
 * Plain typed inputs of the conversation generators. The dataset adapters (RefCOCO, LVIS, PACO, VG, ...) and
 * MRSeg-Shapes both produce these, so the generators never see a file format.
 */

/** A COCO box [x, y, w, h] in pixels. */
export type Box = [number, number, number, number];

/** A mask id as written in the bracket markup: a number, or a string such as "12_3" (never containing ":|[]"). */
export type MaskId = number | string;

/** Fields every generator input carries. */
export interface ImageRef {
  /** Image path as written in `[IMAGE256:<image>]` (relative to the images folder). */
  image: string;
  /** Dataset name as written in the markup (selects the mask loader), e.g. "refcoco", "lvis", "shapes". */
  dataset: string;
  /** A key unique within the dataset, used for conv ids and the per-image random stream (defaults to `image`). */
  key?: string;
}

/** An object that can be asked for by its own description (RefCOCO refs, LVIS instances, Shapes objects). */
export interface CaptionedObject {
  id: MaskId;
  box: Box;
  category: string;
  /** Referring expressions that identify this object in its image (at least one to be used). */
  captions: string[];
}

export interface PositionalInput extends ImageRef {
  objects: CaptionedObject[];
}

export interface PartInput {
  id: MaskId;
  box: Box;
  /** Part name without the object name ("handle", "blade"). */
  name: string;
}

export interface ObjectWithParts {
  id: MaskId;
  box: Box;
  category: string;
  /** Caption to ask for the object by (defaults to "the <category>", with location words for pairs). */
  caption?: string;
  parts: PartInput[];
}

export interface HierarchicalInput extends ImageRef {
  objects: ObjectWithParts[];
}

export interface NamedObject {
  id: MaskId;
  box: Box;
  /** Object name ("man", "shirt"); the generator adds the article. */
  name: string;
  /** Caption used when the object is asked for in round 1 (defaults to "the <name>"). */
  caption?: string;
}

export interface Relationship {
  subject: MaskId;
  /** Predicate as annotated ("wears", "ON", "next to", "inside"). */
  predicate: string;
  object: MaskId;
}

export interface InteractionalInput extends ImageRef {
  objects: NamedObject[];
  relationships: Relationship[];
}

export interface InstanceInput {
  id: MaskId;
  box: Box;
  category: string;
}

export interface HardInput extends ImageRef {
  /** All instances of the image; classes with exactly two instances yield hard conversations. */
  objects: InstanceInput[];
}

export interface DescribedObject {
  id: MaskId;
  /** A relative clause describing the object without its class name ("has a long neck with brown patches"). */
  description: string;
}

export interface AttributeInput extends ImageRef {
  objects: DescribedObject[];
}

export interface SemanticClass {
  /** Mask id of the class region (ADE20K: class id; COCO-Stuff: class id). */
  id: MaskId;
  name: string;
}

export interface SemanticInput extends ImageRef {
  classes: SemanticClass[];
}
