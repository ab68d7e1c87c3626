// Golden files under test/golden/<topic>/: a test compares its output with one exactly, and
// `UPDATE_GOLDEN=1` rewrites them instead (review the diff before committing it).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const GOLDEN_DIR = join('test', 'golden');

/** Expects `actual` to equal test/golden/<path>; with UPDATE_GOLDEN=1, writes it there. */
export function expectGolden(path: string, actual: string): void {
  const file = join(GOLDEN_DIR, path);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no golden file ${file}: run the test with UPDATE_GOLDEN=1 to write it`);
  }
  expect(actual).toBe(expected);
}
