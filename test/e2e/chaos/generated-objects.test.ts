// The chaos experiment generated-objects (chaos/experiments/generated-objects.ts) at small scale: see docs/chaos.md.
import { generatedObjects } from '../../../chaos/experiments/generated-objects.js';
import { runChaosExperiment, stopChaosLeftovers } from '../../support/chaos.js';

describe(`chaos: ${generatedObjects.name}`, () => {
  afterAll(stopChaosLeftovers);

  it(`proves that ${generatedObjects.proves}`, async () => {
    const outcome = await runChaosExperiment(generatedObjects);
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('PASS');
  }, 300_000);
});
