/**
 * The linear sum assignment problem (scipy.optimize.linear_sum_assignment, minimising): the shortest augmenting path
 * method of Crouse (2016), one row at a time with dual variables u, v, in float64. A tall matrix is solved transposed,
 * and the pairs come back sorted by row, as scipy returns them. Among equally short paths the first column that ends
 * at a free column wins, as in scipy, so ties resolve the same way.
 */

export class AssignmentError extends Error {
  override name = 'AssignmentError';
}

interface State {
  nr: number;
  nc: number;
  cost: Float64Array; // [nr, nc], nr <= nc
  u: Float64Array;
  v: Float64Array;
  path: Int32Array;
  row4col: Int32Array;
  col4row: Int32Array;
  spc: Float64Array; // shortest path cost per column
  sr: Uint8Array;
  sc: Uint8Array;
  remaining: Int32Array;
}

/** Dijkstra from row `start` over reduced costs to the nearest free column; returns [sink, minVal] (sink -1: none). */
function augmentingPath(s: State, start: number): [number, number] {
  const { nc, cost, u, v, path, row4col, spc, sr, sc, remaining } = s;
  let minVal = 0;
  let left = nc;
  for (let k = 0; k < nc; k++) remaining[k] = nc - k - 1;
  sr.fill(0);
  sc.fill(0);
  spc.fill(Infinity);
  let i = start;
  for (;;) {
    sr[i] = 1;
    let index = -1;
    let lowest = Infinity;
    for (let k = 0; k < left; k++) {
      const j = remaining[k];
      const r = minVal + cost[i * nc + j] - u[i] - v[j];
      if (r < spc[j]) {
        path[j] = i;
        spc[j] = r;
      }
      if (spc[j] < lowest || (spc[j] === lowest && row4col[j] === -1)) {
        lowest = spc[j];
        index = k;
      }
    }
    minVal = lowest;
    if (minVal === Infinity) return [-1, minVal];
    const j = remaining[index];
    sc[j] = 1;
    remaining[index] = remaining[--left];
    if (row4col[j] === -1) return [j, minVal];
    i = row4col[j];
  }
}

function solveWide(s: State): void {
  for (let cur = 0; cur < s.nr; cur++) {
    const [sink, minVal] = augmentingPath(s, cur);
    if (sink < 0) throw new AssignmentError('cost matrix is infeasible: a row has only infinite costs');
    s.u[cur] += minVal;
    for (let i = 0; i < s.nr; i++) if (s.sr[i] && i !== cur) s.u[i] += minVal - s.spc[s.col4row[i]];
    for (let j = 0; j < s.nc; j++) if (s.sc[j]) s.v[j] -= minVal - s.spc[j];
    for (let j = sink; ; ) {
      const i = s.path[j];
      s.row4col[j] = i;
      const prev = s.col4row[i];
      s.col4row[i] = j;
      j = prev;
      if (i === cur) break;
    }
  }
}

/**
 * Minimum-cost assignment of a rows x cols matrix (row-major). Returns min(rows, cols) pairs, rows ascending.
 * Throws AssignmentError on NaN or when no finite assignment exists.
 */
export function linearSumAssignment(cost: ArrayLike<number>, rows: number, cols: number): { rows: number[]; cols: number[] } {
  if (cost.length !== rows * cols) throw new AssignmentError(`cost has ${cost.length} values, expected ${rows} x ${cols}`);
  for (let k = 0; k < cost.length; k++) {
    if (Number.isNaN(cost[k]) || cost[k] === -Infinity) throw new AssignmentError('cost matrix contains NaN or -inf: clamp it before matching');
  }
  if (rows === 0 || cols === 0) return { rows: [], cols: [] };
  const transpose = cols < rows;
  const nr = transpose ? cols : rows;
  const nc = transpose ? rows : cols;
  const c = new Float64Array(nr * nc);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c[transpose ? j * nc + i : i * nc + j] = cost[i * cols + j];
  const s: State = {
    nr, nc, cost: c, u: new Float64Array(nr), v: new Float64Array(nc), path: new Int32Array(nc).fill(-1),
    row4col: new Int32Array(nc).fill(-1), col4row: new Int32Array(nr).fill(-1), spc: new Float64Array(nc),
    sr: new Uint8Array(nr), sc: new Uint8Array(nc), remaining: new Int32Array(nc),
  };
  solveWide(s);
  const pairs = Array.from(s.col4row, (j, i) => (transpose ? [j, i] : [i, j]));
  pairs.sort((a, b) => a[0] - b[0]);
  return { rows: pairs.map((p) => p[0]), cols: pairs.map((p) => p[1]) };
}
