/** Loads every op (registering its kernels and Tensor methods) and exports the functional API. */
import './methods.ts';
import { bindAutogradHelpers } from '../autograd/engine.ts';
import { binary } from './elementwise/elementwise.ts';
import { alias } from './copy/copy.ts';
import { onesLike } from '../tensor.ts';

bindAutogradHelpers({ add: (a, b) => binary('add', a, b), view: alias, onesLike: (t) => onesLike(t) });

export { binary, unary, where, promote, type Operand } from './elementwise/elementwise.ts';
export { UNARY, BINARY, type UnaryName, type BinaryName, type UnaryRow, type BinaryRow } from './elementwise/table.ts';
export { erf } from './elementwise/erf.ts';
export { fuse, fused, traceChain, FusedChainError, type FusedStep, type FusedRef, type Sym } from './fused/fused.ts';
export { alias, cast, clone, contiguous, copyInto } from './copy/copy.ts';
export {
  reshape, view, permute, transpose, expand, broadcastTensors, slice, narrow, select, squeeze, unsqueeze, flatten, unflatten,
} from './movement/views.ts';
export { sum, prod, max, min, argmax, argmin, mean, variance, std, logsumexp, sumTo, type ReduceOp } from './reduce/reduce.ts';
export { matmul, linear, ActivationError, type Activation, type LinearOptions, gemm, gemmStrided, cpuThreads, setCpuThreads, poolWorkers, CpuWorkerError, type MatView } from './matmul/matmul.ts';
export { softmax, logSoftmax } from './softmax/softmax.ts';
export { cat, stack, split, chunk, pad, type PadMode } from './join/join.ts';
export { run, runInto, empty, backendOf, DeviceMismatchError } from './dispatch.ts';
import './indexing/methods.ts';
export { layerNorm, groupNorm, rmsNorm, batchNorm, NormError } from './norm/norm.ts';
export { gather, scatterAdd } from './indexing/gather.ts';
export { indexSelect, embedding } from './indexing/index-select.ts';
export { maskedFill } from './indexing/masked-fill.ts';
export { IndexOutOfRangeError, IndexDtypeError } from './indexing/errors.ts';
export { sort, argsort, topk, type SortResult } from './sort/sort.ts';
export { cumsum } from './cumsum/cumsum.ts';
export { rotateHalf, applyRotaryEmb, rotaryCosSin, type RotaryOptions } from './rotary/rotary.ts';
export { scaledDotProductAttention, AttentionShapeError, type SdpaOptions } from './attention/attention.ts';

export { conv2d, convOutSize, type Conv2dOptions } from './conv2d/conv2d.ts';
export { maxPool2d, avgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './pool2d/pool2d.ts';
export { interpolate, type InterpolateOptions } from './interpolate/interpolate.ts';
export { gridSample, type GridSampleOptions } from './grid-sample/grid-sample.ts';
export { msDeformAttn } from './ms-deform-attn/ms-deform-attn.ts';
export { SpatialOptionError } from './spatial/args.ts';
export {
  crossEntropy, binaryCrossEntropyWithLogits, sigmoidFocalLoss, diceLoss, l1Loss, smoothL1Loss, LossError,
  type Reduction, type CrossEntropyOptions, type BceOptions,
} from './losses/losses.ts';
export { boxCxcywhToXyxy, boxXyxyToCxcywh, boxArea, boxIou, generalizedBoxIou, nms, batchedNms } from './boxes/boxes.ts';
