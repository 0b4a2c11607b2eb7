import { demoCommand } from './demo.ts';
import { dataMetricsCommand } from './data-metrics.ts';
import { dataBuildCommand } from './data-build.ts';
import { dataShapesCommand } from './data-shapes.ts';
import { chatCommand } from './chat.ts';
import { segmentCommand } from './segment.ts';
import { evalCommand } from './eval.ts';
import { trainCommand } from './train.ts';

/** The `segllm` subcommands: each is a path of words (e.g. ['data', 'metrics']) and a lazy loader. */
export interface Command {
  /** Words after `segllm`, e.g. ['data', 'metrics']. */
  path: string[];
  /** One line for `segllm --help`. */
  summary: string;
  /** Runs with the remaining argv; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

export const commands: Command[] = [
  // Each command module adds one entry here.
  demoCommand,
  dataMetricsCommand,
  dataBuildCommand,
  dataShapesCommand,
  chatCommand,
  segmentCommand,
  evalCommand,
  trainCommand,
];
