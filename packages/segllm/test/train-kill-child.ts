/**
 * The process train-kill.test.ts kills: trains the tiny model on synthetic batches with a checkpoint every step,
 * resuming from `<out>/latest.json`. Prints "started <step>" once resumed and "saved <step>" after each checkpoint.
 * Usage: node --import tsx --conditions=@segllm/source train-kill-child.ts <out> <steps>
 */
import { Trainer } from '@segllm/core/train';
import { SyntheticSource, configJson, newModel, tokJson, trainOptions } from './train-helpers.ts';

const [out, steps] = [process.argv[2], Number(process.argv[3])];
const model = newModel();
const trainer = new Trainer(model, new SyntheticSource(1), { configJson, tokenizerJson: tokJson }, { ...trainOptions(out, steps), saveEvery: 1 });
console.log(`started ${await trainer.resume()}`);
await trainer.run({ onSave: (_dir, step) => console.log(`saved ${step}`) });
