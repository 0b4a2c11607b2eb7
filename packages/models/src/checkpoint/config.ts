/**
 * Typed parsing of upstream `config.json` files: the field names are the upstream ones (HF CLIPVisionConfig,
 * LlamaConfig, LLaVA's `mm_*` fields); a missing optional field takes the upstream default, a present field of
 * the wrong type or range raises a ConfigError that names it.
 */
import { preview } from '@segllm/tensor';

/** A config.json that is malformed or asks for something these models do not implement. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The offending field, e.g. `vision_config.hidden_size`. */
  readonly field: string;
  constructor(field: string, problem: string, what = 'config.json') {
    super(`${what} field "${field}": ${problem}. Pass the config.json saved with the checkpoint (HF save_pretrained), or fix that field`);
    this.field = field;
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses JSON text (or accepts an already parsed object) into an object, with a ConfigError otherwise. */
export function asConfigObject(input: unknown, what = 'config.json'): JsonObject {
  let v = input;
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new ConfigError('<root>', `is not valid JSON (${e instanceof Error ? e.message : String(e)})`, what);
    }
  }
  if (!isObject(v)) throw new ConfigError('<root>', 'must be a JSON object', what);
  return v;
}

/** Field readers bound to one object and a path prefix for error messages. */
export class Fields {
  constructor(
    readonly obj: JsonObject,
    readonly prefix = '',
    readonly what = 'config.json',
  ) {}

  #err(key: string, problem: string): ConfigError {
    return new ConfigError(this.prefix + key, problem, this.what);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  /** A positive integer (or >= `min`). */
  int(key: string, dflt?: number, min = 1): number {
    const v = this.obj[key] ?? dflt;
    if (v === undefined) throw this.#err(key, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw this.#err(key, `must be an integer >= ${min}, got ${preview(v)}`);
    return v;
  }

  /** Any integer (e.g. a negative layer index). */
  anyInt(key: string, dflt?: number): number {
    return this.int(key, dflt, -Number.MAX_SAFE_INTEGER);
  }

  /** A positive finite number. */
  positive(key: string, dflt?: number): number {
    const v = this.obj[key] ?? dflt;
    if (v === undefined) throw this.#err(key, 'is required');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.#err(key, `must be a positive number, got ${preview(v)}`);
    return v;
  }

  bool(key: string, dflt?: boolean): boolean {
    const v = this.obj[key] ?? dflt;
    if (v === undefined) throw this.#err(key, 'is required');
    if (typeof v !== 'boolean') throw this.#err(key, `must be true or false, got ${preview(v)}`);
    return v;
  }

  /** One of the allowed strings. */
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt?: T): T {
    const v = this.obj[key] ?? dflt;
    if (v === undefined) throw this.#err(key, `is required (one of ${allowed.join(', ')})`);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw this.#err(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${preview(v)} (the only values this port supports)`);
    }
    return v as T;
  }

  string(key: string, dflt?: string): string {
    const v = this.obj[key] ?? dflt;
    if (v === undefined) throw this.#err(key, 'is required');
    if (typeof v !== 'string') throw this.#err(key, `must be a string, got ${preview(v)}`);
    return v;
  }

  /** An integer, a list of integers, or absent (null). */
  intOrList(key: string): number | number[] | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x))) return v as number[];
    throw this.#err(key, `must be an integer or a list of integers, got ${preview(v)}`);
  }

  /** A nested object as its own Fields. */
  sub(key: string): Fields | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (!isObject(v)) throw this.#err(key, 'must be an object');
    return new Fields(v, `${this.prefix}${key}.`, this.what);
  }

  fail(key: string, problem: string): never {
    throw this.#err(key, problem);
  }
}
