/** Test utilities shared by every package: parity comparison, golden loading, gradient checks, backend lists. */
export { compareArrays, assertClose, ParityError, type Tolerance, type CompareResult } from './compare.ts';
export { Goldens, loadGoldens } from './goldens.ts';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.ts';
export { availableBackends, backendProviders, type BackendProvider } from './backends.ts';
export { goldenKeys, missingKernels, runGoldenCase, type GoldenRow, type GoldenCaseResult } from './golden-spec.ts';
export { goldenMain, type GoldenHandler } from './golden-cli.ts';
