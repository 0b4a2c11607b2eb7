/**
 * A short, safe rendering of an untrusted value for error messages: JSON for primitives (strings cut at `max`
 * characters), one level of arrays/objects, nothing recursive (JSON.stringify of a deeply nested value overflows
 * the stack and would turn a typed error into a RangeError).
 */
export function preview(v: unknown, max = 60): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}`.slice(0, max);
  if (v === null || typeof v !== 'object') {
    return JSON.stringify(typeof v === 'string' && v.length > max ? `${v.slice(0, max)}…` : v) ?? typeof v;
  }
  const atom = (x: unknown) => (Array.isArray(x) ? '[…]' : x !== null && typeof x === 'object' ? '{…}' : preview(x, 20));
  if (Array.isArray(v)) return `[${v.slice(0, 6).map(atom).join(',')}${v.length > 6 ? `,… (${v.length} items)` : ''}]`;
  const keys = Object.keys(v);
  const rec = v as Record<string, unknown>;
  return `{${keys.slice(0, 4).map((k) => `${preview(k, 20)}:${atom(rec[k])}`).join(',')}${keys.length > 4 ? ',…' : ''}}`;
}
