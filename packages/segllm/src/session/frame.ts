/** Mapping between the decoder's padded square frame and the original image (the release never maps back). */

/** Crops the mask to the resized (pre-pad) area [h', w'] and resizes it nearest-neighbour to the original [H, W]. */
export function maskToOriginal(mask: Uint8Array, size: number, inputHw: readonly [number, number], origHw: readonly [number, number]): Uint8Array {
  const [h, w] = inputHw;
  const [H, W] = origHw;
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / H));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / W));
      out[y * W + x] = mask[sy * size + sx];
    }
  }
  return out;
}

/** Scales an [x0, y0, x1, y1] box from the resized frame to the original image, clipped to it. */
export function boxToOriginal(box: readonly number[], inputHw: readonly [number, number], origHw: readonly [number, number]): [number, number, number, number] {
  const sx = origHw[1] / inputHw[1];
  const sy = origHw[0] / inputHw[0];
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [clip(box[0] * sx, origHw[1]), clip(box[1] * sy, origHw[0]), clip(box[2] * sx, origHw[1]), clip(box[3] * sy, origHw[0])];
}
