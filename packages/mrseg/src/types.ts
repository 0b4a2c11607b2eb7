/** COCO-style annotation types shared by the readers, generators and MRSeg-Shapes. */

/** Uncompressed RLE (counts as numbers) or compressed COCO RLE (counts as the LEB128-like string). */
export interface Rle {
  size: [number, number]; // [h, w]
  counts: number[] | string;
}

/** A COCO polygon list: each polygon is [x0, y0, x1, y1, ...] in pixel coordinates. */
export type Polygons = number[][];

export type Segmentation = Polygons | Rle;

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name: string;
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: Segmentation;
  area: number;
  bbox: [number, number, number, number]; // [x, y, w, h]
  iscrowd: 0 | 1;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [key: string]: unknown;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [key: string]: unknown;
}
