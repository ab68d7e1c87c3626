// The chaos experiment unconfirmed-deletion (chaos/experiments/unconfirmed-deletion.ts) at small scale: see docs/chaos.md.
import { unconfirmedDeletion } from '../../../chaos/experiments/unconfirmed-deletion.js';
import { runChaosExperiment, stopChaosLeftovers } from '../../support/chaos.js';

describe(`chaos: ${unconfirmedDeletion.name}`, () => {
  afterAll(stopChaosLeftovers);

  it(`proves that ${unconfirmedDeletion.proves}`, async () => {
    const outcome = await runChaosExperiment(unconfirmedDeletion);
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('PASS');
  }, 300_000);
});
