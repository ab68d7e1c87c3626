// Every experiment of `npm run chaos`, in the order a full run takes them.
import type { Experiment } from '../harness/experiment.js';
import { apiserverRestarts } from './apiserver-restarts.js';
import { generatedObjects } from './generated-objects.js';
import { leaderFailover } from './leader-failover.js';
import { operatorKills } from './operator-kills.js';
import { unconfirmedDeletion } from './unconfirmed-deletion.js';
import { watchCut } from './watch-cut.js';

export const EXPERIMENTS: readonly Experiment[] = [
  operatorKills,
  apiserverRestarts,
  leaderFailover,
  watchCut,
  generatedObjects,
  unconfirmedDeletion,
];
