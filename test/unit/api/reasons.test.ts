// The Reason catalogue is the one list of the reasons the operator writes: each is one CamelCase
// word, named as it reads, never reused for two meanings, and no source file records an Event with
// a reason of its own spelling.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Reason } from '../../../src/api/index.js';

const CATALOGUE = join('src', 'api', 'reasons.ts');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });

describe('Reason', () => {
  const entries = Object.entries(Reason);

  it('is not empty', () => {
    expect(entries.length).toBeGreaterThan(0);
  });

  it.each(entries)('%s is CamelCase', (_key, value) => {
    expect(value).toMatch(/^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$/);
  });

  it('names each reason by its value', () => {
    expect(entries.filter(([key, value]) => key !== value)).toEqual([]);
  });

  it('holds each value once', () => {
    const values = entries.map(([, value]) => value);
    expect(values.filter((v, i) => values.indexOf(v) !== i)).toEqual([]);
  });
});

describe('Event reasons in src/', () => {
  it('are never quoted literals passed to events.record (they come from Reason)', () => {
    const literal = /record\([^,]+,\s*'(Normal|Warning)',\s*'/g;
    const found = sourceFiles('src')
      .filter((f) => f !== CATALOGUE)
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(literal)].map((m) => `${f}: ${m[0]}`));
    expect(found).toEqual([]);
  });

  it('the scan finds such a literal when there is one', () => {
    const literal = /record\([^,]+,\s*'(Normal|Warning)',\s*'/;
    expect("await d.events.record(\n  subject,\n  'Warning',\n  'PodEvicted',\n  note)").toMatch(literal);
    expect("await d.events.record(subject, 'Warning', Reason.PodEvicted, note)").not.toMatch(literal);
  });
});
