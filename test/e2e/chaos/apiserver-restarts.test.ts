// The chaos experiment apiserver-restarts (chaos/experiments/apiserver-restarts.ts) at small scale: see docs/chaos.md.
import { apiserverRestarts } from '../../../chaos/experiments/apiserver-restarts.js';
import { runChaosExperiment, stopChaosLeftovers } from '../../support/chaos.js';

describe(`chaos: ${apiserverRestarts.name}`, () => {
  afterAll(stopChaosLeftovers);

  it(`proves that ${apiserverRestarts.proves}`, async () => {
    const outcome = await runChaosExperiment(apiserverRestarts);
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('PASS');
  }, 300_000);
});
