// The chaos experiment operator-kills (chaos/experiments/operator-kills.ts) at small scale: see docs/chaos.md.
import { operatorKills } from '../../../chaos/experiments/operator-kills.js';
import { runChaosExperiment, stopChaosLeftovers } from '../../support/chaos.js';

describe(`chaos: ${operatorKills.name}`, () => {
  afterAll(stopChaosLeftovers);

  it(`proves that ${operatorKills.proves}`, async () => {
    const outcome = await runChaosExperiment(operatorKills);
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('PASS');
  }, 300_000);
});
