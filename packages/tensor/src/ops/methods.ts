/** Installs the op methods on Tensor.prototype (t.add(b), t.sum(-1), ...) with their types. */
import type { DType } from '../dtype.ts';
import { Tensor } from '../tensor.ts';
import { backward as runBackward } from '../autograd/engine.ts';
import type { BackwardOptions } from '../autograd/engine.ts';
import type { Operand } from './elementwise/elementwise.ts';
import { binary, unary, where } from './elementwise/elementwise.ts';
import { alias, cast, clone, contiguous } from './copy/copy.ts';
import * as v from './movement/views.ts';
import * as r from './reduce/reduce.ts';
import { matmul } from './matmul/matmul.ts';
import { logSoftmax, softmax } from './softmax/softmax.ts';
import { chunk, split } from './join/join.ts';
import { conv2d, type Conv2dOptions } from './conv2d/conv2d.ts';
import { avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from './pool2d/pool2d.ts';
import { interpolate, type InterpolateOptions } from './interpolate/interpolate.ts';
import { gridSample, type GridSampleOptions } from './grid-sample/grid-sample.ts';

type Dims = number | readonly number[];

declare module '../tensor.ts' {
  interface Tensor {
    add(b: Operand): Tensor;
    sub(b: Operand): Tensor;
    mul(b: Operand): Tensor;
    div(b: Operand): Tensor;
    pow(b: Operand): Tensor;
    maximum(b: Operand): Tensor;
    minimum(b: Operand): Tensor;
    remainder(b: Operand): Tensor;
    eq(b: Operand): Tensor;
    ne(b: Operand): Tensor;
    lt(b: Operand): Tensor;
    le(b: Operand): Tensor;
    gt(b: Operand): Tensor;
    ge(b: Operand): Tensor;
    logicalAnd(b: Operand): Tensor;
    logicalOr(b: Operand): Tensor;
    logicalXor(b: Operand): Tensor;
    logicalNot(): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    reciprocal(): Tensor;
    square(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    erf(): Tensor;
    /** GELU; approximate 'tanh' for the tanh form. */
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    quickGelu(): Tensor;
    silu(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    isnan(): Tensor;
    isinf(): Tensor;
    nanToNum(nan?: number): Tensor;
    /** torch's x.where(cond, other): x where cond, else other. */
    where(cond: Tensor, other: Operand): Tensor;
    sum(dim?: Dims, keepdim?: boolean): Tensor;
    mean(dim?: Dims, keepdim?: boolean): Tensor;
    prod(dim?: Dims, keepdim?: boolean): Tensor;
    max(dim?: Dims, keepdim?: boolean): Tensor;
    min(dim?: Dims, keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    var(dim?: Dims, keepdim?: boolean, correction?: number): Tensor;
    std(dim?: Dims, keepdim?: boolean, correction?: number): Tensor;
    logsumexp(dim?: Dims, keepdim?: boolean): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    matmul(b: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    view(shape: readonly number[]): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(d0?: number, d1?: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    squeeze(dim?: Dims): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    split(size: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    contiguous(): Tensor;
    clone(): Tensor;
    /** Cast to another dtype (a new tensor object even when the dtype is the same). */
    to(dtype: DType): Tensor;
    toFloat(): Tensor;
    /** Same storage, cut from the autograd graph. */
    detach(): Tensor;
    backward(grad?: Tensor, opts?: BackwardOptions): void;
    /** torch.nn.functional.conv2d with this tensor as the NCHW input. */
    conv2d(weight: Tensor, bias?: Tensor | null, opts?: Conv2dOptions): Tensor;
    maxPool2d(opts: MaxPool2dOptions): Tensor;
    avgPool2d(opts: AvgPool2dOptions): Tensor;
    interpolate(opts: InterpolateOptions): Tensor;
    gridSample(grid: Tensor, opts?: GridSampleOptions): Tensor;
  }
}

const P = Tensor.prototype;
const bin = (name: Parameters<typeof binary>[0]) =>
  function (this: Tensor, b: Operand) {
    return binary(name, this, b);
  };
P.add = bin('add');
P.sub = bin('sub');
P.mul = bin('mul');
P.div = bin('div');
P.maximum = bin('maximum');
P.minimum = bin('minimum');
P.remainder = bin('remainder');
P.eq = bin('eq');
P.ne = bin('ne');
P.lt = bin('lt');
P.le = bin('le');
P.gt = bin('gt');
P.ge = bin('ge');
P.logicalAnd = bin('logical_and');
P.logicalOr = bin('logical_or');
P.logicalXor = bin('logical_xor');
P.pow = function (this: Tensor, b: Operand) {
  return typeof b === 'number' ? unary('pow_scalar', this, b) : binary('pow', this, b);
};
const un = (name: Parameters<typeof unary>[0]) =>
  function (this: Tensor) {
    return unary(name, this);
  };
P.logicalNot = un('logical_not');
P.neg = un('neg');
P.abs = un('abs');
P.sign = un('sign');
P.exp = un('exp');
P.log = un('log');
P.log1p = un('log1p');
P.sqrt = un('sqrt');
P.rsqrt = un('rsqrt');
P.reciprocal = un('reciprocal');
P.square = un('square');
P.sin = un('sin');
P.cos = un('cos');
P.tanh = un('tanh');
P.sigmoid = un('sigmoid');
P.relu = un('relu');
P.erf = un('erf');
P.quickGelu = un('quick_gelu');
P.silu = un('silu');
P.floor = un('floor');
P.ceil = un('ceil');
P.round = un('round');
P.isnan = un('isnan');
P.isinf = un('isinf');
P.gelu = function (this: Tensor, approximate: 'none' | 'tanh' = 'none') {
  return unary(approximate === 'tanh' ? 'gelu_tanh' : 'gelu', this);
};
P.clamp = function (this: Tensor, lo?: number | null, hi?: number | null) {
  return unary('clamp', this, lo ?? -Infinity, hi ?? Infinity);
};
P.nanToNum = function (this: Tensor, nan = 0) {
  return unary('nan_to_num', this, nan);
};
P.where = function (this: Tensor, cond: Tensor, other: Operand) {
  return where(cond, this, other);
};
P.sum = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.sum(this, dim, keepdim);
};
P.mean = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.mean(this, dim, keepdim);
};
P.prod = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.prod(this, dim, keepdim);
};
P.max = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.max(this, dim, keepdim);
};
P.min = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.min(this, dim, keepdim);
};
P.argmax = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return r.argmax(this, dim, keepdim);
};
P.argmin = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return r.argmin(this, dim, keepdim);
};
P.var = function (this: Tensor, dim?: Dims, keepdim?: boolean, correction?: number) {
  return r.variance(this, dim, keepdim, correction);
};
P.std = function (this: Tensor, dim?: Dims, keepdim?: boolean, correction?: number) {
  return r.std(this, dim, keepdim, correction);
};
P.logsumexp = function (this: Tensor, dim?: Dims, keepdim?: boolean) {
  return r.logsumexp(this, dim, keepdim);
};
P.softmax = function (this: Tensor, dim?: number) {
  return softmax(this, dim);
};
P.logSoftmax = function (this: Tensor, dim?: number) {
  return logSoftmax(this, dim);
};
P.matmul = function (this: Tensor, b: Tensor) {
  return matmul(this, b);
};
P.reshape = function (this: Tensor, shape: readonly number[]) {
  return v.reshape(this, shape);
};
P.view = function (this: Tensor, shape: readonly number[]) {
  return v.view(this, shape);
};
P.permute = function (this: Tensor, dims: readonly number[]) {
  return v.permute(this, dims);
};
P.transpose = function (this: Tensor, d0?: number, d1?: number) {
  return v.transpose(this, d0, d1);
};
P.expand = function (this: Tensor, shape: readonly number[]) {
  return v.expand(this, shape);
};
P.slice = function (this: Tensor, dim: number, start?: number, end?: number, step?: number) {
  return v.slice(this, dim, start, end, step);
};
P.narrow = function (this: Tensor, dim: number, start: number, length: number) {
  return v.narrow(this, dim, start, length);
};
P.select = function (this: Tensor, dim: number, index: number) {
  return v.select(this, dim, index);
};
P.squeeze = function (this: Tensor, dim?: Dims) {
  return v.squeeze(this, dim);
};
P.unsqueeze = function (this: Tensor, dim: number) {
  return v.unsqueeze(this, dim);
};
P.flatten = function (this: Tensor, s?: number, e?: number) {
  return v.flatten(this, s, e);
};
P.unflatten = function (this: Tensor, dim: number, sizes: readonly number[]) {
  return v.unflatten(this, dim, sizes);
};
P.split = function (this: Tensor, size: number | readonly number[], dim?: number) {
  return split(this, size, dim);
};
P.chunk = function (this: Tensor, chunks: number, dim?: number) {
  return chunk(this, chunks, dim);
};
P.contiguous = function (this: Tensor) {
  return contiguous(this);
};
P.clone = function (this: Tensor) {
  return clone(this);
};
P.to = function (this: Tensor, dtype: DType) {
  return cast(this, dtype);
};
P.toFloat = function (this: Tensor) {
  return this.dtype === 'float32' ? alias(this) : cast(this, 'float32');
};
P.detach = function (this: Tensor) {
  this.assertAlive();
  return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
};
P.backward = function (this: Tensor, grad?: Tensor, opts?: BackwardOptions) {
  runBackward(this, grad, opts);
};
P.conv2d = function (this: Tensor, weight: Tensor, bias?: Tensor | null, opts?: Conv2dOptions) {
  return conv2d(this, weight, bias, opts);
};
P.maxPool2d = function (this: Tensor, opts: MaxPool2dOptions) {
  return maxPool2d(this, opts);
};
P.avgPool2d = function (this: Tensor, opts: AvgPool2dOptions) {
  return avgPool2d(this, opts);
};
P.interpolate = function (this: Tensor, opts: InterpolateOptions) {
  return interpolate(this, opts);
};
P.gridSample = function (this: Tensor, grid: Tensor, opts?: GridSampleOptions) {
  return gridSample(this, grid, opts);
};
