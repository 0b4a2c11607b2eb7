import { describe, expect, it, vi } from 'vitest';
import { goldenMain } from './golden-cli.ts';

const handlers = {
  ok: { usage: 'ok', run: () => Promise.resolve(true) },
  bad: { usage: 'bad <x>', run: () => Promise.resolve(false) },
  boom: { usage: 'boom', run: () => Promise.reject(new RangeError('no such file')) },
};

async function codeOf(argv: string[]): Promise<{ code: number; err: string }> {
  let code = -1;
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await goldenMain(handlers, 'golden', argv, ((c: number) => {
    code = c;
  }) as (c: number) => never);
  const text = err.mock.calls.map((c) => String(c[0])).join('');
  err.mockRestore();
  return { code, err: text };
}

describe('goldenMain', () => {
  it('exits 0 on success, 1 on a failed comparison, 2 on an error or a bad kind, with the usage', async () => {
    expect((await codeOf(['ok'])).code).toBe(0);
    expect((await codeOf(['bad', 'x'])).code).toBe(1);
    const boom = await codeOf(['boom']);
    expect(boom.code).toBe(2);
    expect(boom.err).toContain('golden boom: RangeError: no such file');
    const unknown = await codeOf(['nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown kind "nope"[\s\S]*usage: golden <kind>[\s\S]*bad <x>/);
    expect((await codeOf([])).err).toContain('no kind given');
  });
});
