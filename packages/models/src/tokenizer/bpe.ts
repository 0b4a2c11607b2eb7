/**
 * SentencePiece-style BPE as HF `tokenizers` runs it (models/bpe): start from one symbol per Unicode character
 * (characters missing from the vocabulary become `<0xXX>` byte tokens with byte fallback, else the unknown token,
 * fused when `fuse_unk`), then repeatedly apply the lowest-rank merge, leftmost first, until none applies.
 */
import type { BpeSpec } from './config.ts';
import { TokenizerConfigError } from './errors.ts';

interface HeapEntry {
  rank: number;
  pos: number;
  newId: number;
}

/** Binary min-heap ordered by (rank, pos), as HF's `Merge` ordering. */
class MergeHeap {
  private readonly items: HeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.rank < b.rank || (a.rank === b.rank && a.pos < b.pos);
  }
  push(e: HeapEntry): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): HeapEntry {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const utf8 = new TextEncoder();

export class BpeModel {
  readonly vocab: Map<string, number>;
  /** id -> token string of the model vocabulary. */
  readonly idToToken: Map<number, string>;
  private readonly mergeRanks = new Map<number, { rank: number; newId: number }>();
  private readonly keyBase: number;
  private readonly byteIds: Int32Array;
  private readonly unkId: number;
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly spec: BpeSpec) {
    this.vocab = spec.vocab;
    this.idToToken = new Map();
    let maxId = 0;
    for (const [t, i] of spec.vocab) {
      this.idToToken.set(i, t);
      if (i > maxId) maxId = i;
    }
    this.keyBase = maxId + 1;
    spec.merges.forEach(([a, b], rank) => {
      const ia = spec.vocab.get(a);
      const ib = spec.vocab.get(b);
      const inew = spec.vocab.get(a + b);
      if (ia === undefined || ib === undefined) {
        throw new TokenizerConfigError(`model.merges[${rank}]`, `merge part ${JSON.stringify(ia === undefined ? a : b)} is not in model.vocab`);
      }
      if (inew === undefined) {
        throw new TokenizerConfigError(`model.merges[${rank}]`, `merged token ${JSON.stringify(a + b)} is not in model.vocab`);
      }
      // A repeated pair keeps its last rank, as HF's merge map does.
      this.mergeRanks.set(ia * this.keyBase + ib, { rank, newId: inew });
    });
    this.byteIds = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const t = spec.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (t !== undefined) this.byteIds[b] = t;
    }
    this.unkId = spec.unkToken === null ? -1 : spec.vocab.get(spec.unkToken)!;
  }

  /** Token ids of one pre-tokenized word. */
  tokenize(word: string): number[] {
    if (word.length === 0) return [];
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const ids = this.tokenizeUncached(word);
    if (word.length < 256) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  private tokenizeUncached(word: string): number[] {
    if (this.spec.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    // Initial symbols: one per character.
    const sym: number[] = [];
    let lastWasUnk = false;
    for (const ch of word) {
      const direct = this.vocab.get(ch);
      if (direct !== undefined) {
        sym.push(direct);
        lastWasUnk = false;
        continue;
      }
      if (this.spec.byteFallback) {
        const ids = Array.from(utf8.encode(ch), (b) => this.byteIds[b]);
        if (ids.every((x) => x >= 0)) {
          for (const id of ids) sym.push(id);
          lastWasUnk = false;
          continue;
        }
      }
      if (this.unkId >= 0) {
        if (!(this.spec.fuseUnk && lastWasUnk)) sym.push(this.unkId);
        lastWasUnk = true;
      }
      // Without an unknown token HF drops the character; so do we.
    }
    const n = sym.length;
    if (n < 2) return sym;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new MergeHeap();
    const consider = (pos: number): void => {
      const nx = next[pos];
      if (nx < 0) return;
      const m = this.mergeRanks.get(sym[pos] * this.keyBase + sym[nx]);
      if (m !== undefined) heap.push({ rank: m.rank, pos, newId: m.newId });
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (heap.size > 0) {
      const top = heap.pop();
      const pos = top.pos;
      if (!alive[pos]) continue;
      const nx = next[pos];
      if (nx < 0) continue;
      const m = this.mergeRanks.get(sym[pos] * this.keyBase + sym[nx]);
      if (m === undefined || m.rank !== top.rank || m.newId !== top.newId) continue; // stale entry
      sym[pos] = top.newId;
      alive[nx] = 0;
      next[pos] = next[nx];
      if (next[nx] >= 0) prev[next[nx]] = pos;
      if (prev[pos] >= 0) consider(prev[pos]);
      consider(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return out;
  }
}
