import { DURATION_PATTERN, MAX_DURATION_MS, parseDuration } from '../../../src/api/duration.js';

const hour = 3_600_000;

describe('parseDuration, bounded as the CRD bounds spec.encryption.rotationInterval', () => {
  it('reads each unit once, from hours down', () => {
    expect(parseDuration('87600h')).toBe(MAX_DURATION_MS);
    expect(parseDuration('1h30m15s')).toBe(hour + 30 * 60_000 + 15_000);
    expect(parseDuration('5m500ms')).toBe(300_500);
  });

  it('refuses what would overflow, what exceeds ten years, and units out of order', () => {
    for (const text of ['99999999999999999999h', '2562048h', '1000000h', '30m1h', '1h1h', '']) {
      expect(() => parseDuration(text)).toThrow(/is not a duration such as 2160h/);
    }
    expect(() => parseDuration('87601h')).toThrow(/longer than 87600h/);
    expect(() => parseDuration('9999999m')).toThrow(/longer than 87600h/);
  });

  it('admits nothing that overflows a Go duration, whatever the digits', () => {
    const widest =
      '999999.999999999h9999999.999999999m999999999.999999999s999999999999.999999999ms' +
      '999999999999999.999999999us999999999999999999.999999999ns';
    expect(new RegExp(DURATION_PATTERN).test(widest)).toBe(true);
    // Each unit stays below 10^digits of itself; in nanoseconds, the sum stays below Go's maximum
    // duration, 2^63-1 ns (about 2,562,047 hours).
    const ns =
      10n ** 6n * 3_600_000_000_000n +
      10n ** 7n * 60_000_000_000n +
      10n ** 9n * 1_000_000_000n +
      10n ** 12n * 1_000_000n +
      10n ** 15n * 1000n +
      10n ** 18n;
    expect(ns < 2n ** 63n - 1n).toBe(true);
  });
});
