import { checkHubName, checkUid, parseSince, scopeOf } from '../../../../src/cli/hdh/scope.js';

describe('scopeOf', () => {
  it('is -A (all), else -n, else the context namespace', () => {
    expect(scopeOf({ allNamespaces: true }, 'ctx')).toBeUndefined();
    expect(scopeOf({ namespace: 'research' }, 'ctx')).toBe('research');
    expect(scopeOf({}, 'ctx')).toBe('ctx');
  });

  it('refuses -n with -A, and a namespace that cannot exist', () => {
    expect(() => scopeOf({ namespace: 'a', allNamespaces: true }, 'ctx')).toThrow(
      'give either -n NAMESPACE or -A, not both',
    );
    expect(() => scopeOf({ namespace: 'Research' }, 'ctx')).toThrow('"Research" is not a namespace name');
  });
});

describe('checkHubName and checkUid', () => {
  it('accept what the API accepts and refuse the rest', () => {
    expect(() => checkHubName('oncology')).not.toThrow();
    expect(() => checkHubName('a'.repeat(53))).toThrow('is not a HealthDataHub name');
    expect(() => checkHubName('../x')).toThrow('is not a HealthDataHub name');
    expect(() => checkUid('--from-uid', '05364ebc-ab68-4cad-925f-b6b248266c15')).not.toThrow();
    expect(() => checkUid('--from-uid', 'oncology')).toThrow('--from-uid "oncology" is not a UID');
  });
});

describe('parseSince', () => {
  const now = new Date('2025-03-10T12:00:00.500Z');

  it('takes a duration back from now, to the second', () => {
    expect(parseSince('24h', now)).toBe('2025-03-09T12:00:00Z');
    expect(parseSince('1h30m', now)).toBe('2025-03-10T10:30:00Z');
  });

  it('takes an RFC 3339 time as it is (in UTC)', () => {
    expect(parseSince('2025-03-01T00:00:00Z', now)).toBe('2025-03-01T00:00:00Z');
    expect(parseSince('2025-03-01T01:00:00+01:00', now)).toBe('2025-03-01T00:00:00Z');
  });

  it('refuses anything else, and a time in the future', () => {
    expect(() => parseSince('7d', now)).toThrow('give a duration such as 24h');
    expect(() => parseSince('yesterday', now)).toThrow('--since "yesterday"');
    expect(() => parseSince('2025-04-01T00:00:00Z', now)).toThrow('in the future');
  });
});
