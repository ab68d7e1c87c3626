import { compareQuantities, compareQuantityText, parseQuantity } from '../../../src/storage/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['1Gi', 1024n ** 3n, 0],
    ['1.5Gi', 15n * 1024n ** 3n, -1],
    ['500M', 500n, 6],
    ['100m', 100n, -3],
    ['2', 2n, 0],
    ['1e3', 1n, 3],
    ['1E3', 1n, 3],
    ['-5k', -5n, 3],
    ['.5', 5n, -1],
    ['3.', 3n, 0],
  ])('%s', (text, coefficient, exponent) => {
    expect(parseQuantity(text)).toEqual({ coefficient, exponent });
  });

  it('reads exa (E) as a suffix and E<n> as an exponent', () => {
    expect(compareQuantityText('1E', '1e18')).toBe(0);
    expect(compareQuantityText('2E2', '200')).toBe(0);
  });

  it.each(['', 'Gi', '1GiB', '1 Gi', '1.2.3', 'abc', '1e', '1e999999'])('refuses %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it('accepts numbers, as resource maps may hold them', () => {
    expect(compareQuantityText(2, '2000m')).toBe(0);
    expect(compareQuantityText(1e21, '1E')).toBe(1);
  });
});

describe('compareQuantities', () => {
  it.each([
    ['1Gi', '1024Mi', 0],
    ['1Gi', '1G', 1],
    ['1G', '1Gi', -1],
    ['1000M', '1G', 0],
    ['20Gi', '21474836480', 0],
    ['1.5Gi', '1536Mi', 0],
    ['1Ti', '1023Gi', 1],
    ['1Mi', '1Gi', -1],
    ['100m', '0.1', 0],
  ])('%s vs %s', (a, b, expected) => {
    expect(compareQuantityText(a, b)).toBe(expected);
    expect(compareQuantityText(b, a)).toBe(-expected || 0);
  });

  it('is exact where floating point is not', () => {
    const a = parseQuantity('9007199254740993')!;
    const b = parseQuantity('9007199254740992')!;
    expect(compareQuantities(a, b)).toBe(1);
  });

  it('throws on text that is not a quantity rather than guessing', () => {
    expect(() => compareQuantityText('big', '1Gi')).toThrow(/not a quantity: big/);
  });
});
