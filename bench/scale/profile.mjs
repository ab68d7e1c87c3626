// Where the operator's CPU time went: the self time of a V8 CPU profile (`node --cpu-prof`) by
// function and by package or source file, so the hot spots can be named without a viewer.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TOP = 25;

/** The hottest functions and modules over every .cpuprofile in `dir`. */
export function summarizeProfiles(dir) {
  const byFunction = new Map();
  const byModule = new Map();
  let total = 0;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const self = selfTimes(profile);
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (us === 0) continue;
      total += us;
      const f = node.callFrame;
      const where = moduleOf(f.url);
      const fn = `${f.functionName || '(anonymous)'} ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      byModule.set(where, (byModule.get(where) ?? 0) + us);
    }
  }
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: +(us / total).toFixed(3) }));
  return { files, totalMs: Math.round(total / 1000), functions: top(byFunction), modules: top(byModule) };
}

/** Self time per node: the sampling intervals attributed to the node each sample landed in. */
function selfTimes(profile) {
  const self = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  }
  return self;
}

/** A package name for dependencies, the path under the package for the operator's own code. */
function moduleOf(url) {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}
