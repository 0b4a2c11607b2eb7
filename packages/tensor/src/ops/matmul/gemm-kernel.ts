/**
 * The GEMM block kernel, run both on the main thread and in the worker pool (pool.ts sends its source text,
 * `gemmBlock.toString()`, to the workers). It must therefore stay SELF-CONTAINED: no imports, no module-level
 * constants, no helper functions — everything it needs is declared inside it or passed in.
 *
 * C[m0:m1, n0:n1] = A[m0:m1, :] . B[:, n0:n1], where A [M, K] and B [K, N] are strided views (any strides, so
 * transposed and broadcast views need no copy) and C is row-major with leading dimension ldc. C is overwritten.
 *
 * Summation order (what makes every row/column split bitwise identical to the single-threaded result): each
 * output element is summed in float64 over K in blocks of KC = 256 (k ascending), and each block's sum is added to
 * C (the first block is stored), except for products with M < 8 rows, which sum each element over all of K in
 * float64 and round once. The order depends only on M and K, never on the region computed.
 */

export type F = Float32Array | Float64Array;

/** Per-thread scratch for the packed panels; the kernel allocates them on first use. */
export interface GemmScratch {
  ap?: Float64Array;
  bp?: Float64Array;
  row?: Float64Array;
}

export function gemmBlock(
  A: F, aOff: number, ars: number, acs: number,
  B: F, bOff: number, brs: number, bcs: number,
  C: F, cOff: number, ldc: number,
  M: number, K: number, m0: number, m1: number, n0: number, n1: number,
  ws: GemmScratch,
): void {
  // Register tile MR x NR, A panel MC x KC (L2), B panel KC x NC; panels are packed to float64 and zero-padded.
  const MR = 4, NR = 4, KC = 256, MC = 64, NC = 512, SMALL_M = 8;
  if (m1 <= m0 || n1 <= n0) return;
  if (K === 0) {
    for (let i = m0; i < m1; i++) C.fill(0, cOff + i * ldc + n0, cOff + i * ldc + n1);
    return;
  }

  if (M < SMALL_M) {
    // Few rows (GEMV-like): packing B would cost as much as the product; stream B once per row instead.
    const nn = n1 - n0;
    if (!ws.row || ws.row.length < nn) ws.row = new Float64Array(Math.max(nn, 1024));
    const acc = ws.row; // [n1 - n0] float64 row accumulator
    for (let i = m0; i < m1; i++) {
      const ai = aOff + i * ars;
      const ci = cOff + i * ldc + n0;
      if (bcs === 1) {
        // Rows of B are contiguous: acc += A[i, k..k+3] . B[k..k+3, :], four rows of B per pass.
        acc.fill(0, 0, nn);
        let k = 0;
        for (; k + 4 <= K; k += 4) {
          const a0 = A[ai + k * acs], a1 = A[ai + (k + 1) * acs], a2 = A[ai + (k + 2) * acs], a3 = A[ai + (k + 3) * acs];
          const b0 = bOff + k * brs + n0, b1 = b0 + brs, b2 = b1 + brs, b3 = b2 + brs;
          for (let j = 0; j < nn; j++) acc[j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
        }
        for (; k < K; k++) {
          const a = A[ai + k * acs];
          const bk = bOff + k * brs + n0;
          for (let j = 0; j < nn; j++) acc[j] += a * B[bk + j];
        }
        for (let j = 0; j < nn; j++) C[ci + j] = acc[j];
      } else {
        // Columns of B are (closer to) contiguous: dot products, four columns per pass sharing the loads of A.
        let j = 0;
        for (; j + 4 <= nn; j += 4) {
          const b0 = bOff + (n0 + j) * bcs, b1 = b0 + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = 0; k < K; k++) {
            const a = A[ai + k * acs];
            const kb = k * brs;
            s0 += a * B[b0 + kb];
            s1 += a * B[b1 + kb];
            s2 += a * B[b2 + kb];
            s3 += a * B[b3 + kb];
          }
          C[ci + j] = s0;
          C[ci + j + 1] = s1;
          C[ci + j + 2] = s2;
          C[ci + j + 3] = s3;
        }
        for (; j < nn; j++) {
          const bj = bOff + (n0 + j) * bcs;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ai + k * acs] * B[bj + k * brs];
          C[ci + j] = s;
        }
      }
    }
    return;
  }

  /** The MR x NR register tile: 16 float64 accumulators over kc rank-1 updates, written to `tile`. */
  function micro(ap: Float64Array, pa: number, bp: Float64Array, pb: number, kc: number, tile: Float64Array): void {
    let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
    let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
    for (let k = 0; k < kc; k++) {
      const a0 = ap[pa], a1 = ap[pa + 1], a2 = ap[pa + 2], a3 = ap[pa + 3];
      const b0 = bp[pb], b1 = bp[pb + 1], b2 = bp[pb + 2], b3 = bp[pb + 3];
      c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
      c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
      c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      pa += 4;
      pb += 4;
    }
    tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
    tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
    tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
    tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
  }

  if (!ws.ap) ws.ap = new Float64Array(MC * KC);
  if (!ws.bp) ws.bp = new Float64Array(KC * NC);
  const ap = ws.ap; // [MC/MR][kc][MR]
  const bp = ws.bp; // [NC/NR][kc][NR]
  const tile = new Float64Array(MR * NR);

  for (let nb = n0; nb < n1; nb += NC) {
    const nc = Math.min(NC, n1 - nb);
    for (let kb = 0; kb < K; kb += KC) {
      const kc = Math.min(KC, K - kb);
      const first = kb === 0;

      // Pack B[kb:kb+kc, nb:nb+nc] into column panels of NR, walking B along its smaller stride.
      for (let jp = 0; jp < nc; jp += NR) {
        const base = jp * kc;
        for (let jj = 0; jj < NR; jj++) {
          const inside = jp + jj < nc;
          const src = bOff + kb * brs + (nb + jp + jj) * bcs;
          for (let k = 0; k < kc; k++) bp[base + k * NR + jj] = inside ? B[src + k * brs] : 0;
        }
      }

      for (let mb = m0; mb < m1; mb += MC) {
        const mc = Math.min(MC, m1 - mb);
        // Pack A[mb:mb+mc, kb:kb+kc] into row panels of MR.
        for (let ip = 0; ip < mc; ip += MR) {
          const base = ip * kc;
          for (let ii = 0; ii < MR; ii++) {
            const inside = ip + ii < mc;
            const src = aOff + (mb + ip + ii) * ars + kb * acs;
            for (let k = 0; k < kc; k++) ap[base + k * MR + ii] = inside ? A[src + k * acs] : 0;
          }
        }

        for (let ip = 0; ip < mc; ip += MR) {
          for (let jp = 0; jp < nc; jp += NR) {
            micro(ap, ip * kc, bp, jp * kc, kc, tile);
            const mr = Math.min(MR, mc - ip);
            const nr = Math.min(NR, nc - jp);
            for (let ii = 0; ii < mr; ii++) {
              const ci = cOff + (mb + ip + ii) * ldc + nb + jp;
              for (let jj = 0; jj < nr; jj++) {
                if (first) C[ci + jj] = tile[ii * NR + jj];
                else C[ci + jj] += tile[ii * NR + jj];
              }
            }
          }
        }
      }
    }
  }
}
