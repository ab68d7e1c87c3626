// The chaos experiment watch-cut (chaos/experiments/watch-cut.ts) at small scale: see docs/chaos.md.
import { watchCut } from '../../../chaos/experiments/watch-cut.js';
import { runChaosExperiment, stopChaosLeftovers } from '../../support/chaos.js';

describe(`chaos: ${watchCut.name}`, () => {
  afterAll(stopChaosLeftovers);

  it(`proves that ${watchCut.proves}`, async () => {
    const outcome = await runChaosExperiment(watchCut);
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('PASS');
  }, 300_000);
});
