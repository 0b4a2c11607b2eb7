/** Tensor methods for the indexing, sort and cumsum ops (declaration merging, like ../methods.ts). */
import { Tensor } from '../../tensor.ts';
import { gather, scatterAdd } from './gather.ts';
import { indexSelect } from './index-select.ts';
import { maskedFill } from './masked-fill.ts';
import { argsort, sort, topk } from '../sort/sort.ts';
import type { SortResult } from '../sort/sort.ts';
import { cumsum } from '../cumsum/cumsum.ts';

declare module '../../tensor.ts' {
  interface Tensor {
    gather(dim: number, index: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    /** Out of place (torch's scatter_add, not scatter_add_). */
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    topk(k: number, dim?: number, largest?: boolean, sorted?: boolean): SortResult;
    sort(dim?: number, descending?: boolean): SortResult;
    argsort(dim?: number, descending?: boolean): Tensor;
    cumsum(dim: number): Tensor;
  }
}

const P = Tensor.prototype;
P.gather = function (this: Tensor, dim: number, index: Tensor) {
  return gather(this, dim, index);
};
P.indexSelect = function (this: Tensor, dim: number, index: Tensor) {
  return indexSelect(this, dim, index);
};
P.scatterAdd = function (this: Tensor, dim: number, index: Tensor, src: Tensor) {
  return scatterAdd(this, dim, index, src);
};
P.maskedFill = function (this: Tensor, mask: Tensor, value: number) {
  return maskedFill(this, mask, value);
};
P.topk = function (this: Tensor, k: number, dim?: number, largest?: boolean, sorted?: boolean) {
  return topk(this, k, dim, largest, sorted);
};
P.sort = function (this: Tensor, dim?: number, descending?: boolean) {
  return sort(this, dim, descending);
};
P.argsort = function (this: Tensor, dim?: number, descending?: boolean) {
  return argsort(this, dim, descending);
};
P.cumsum = function (this: Tensor, dim: number) {
  return cumsum(this, dim);
};
