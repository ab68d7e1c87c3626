// `npm run bench:scale -- --hubs N [--concurrency C] [--check] [--out DIR]`: the operator at
// scale on its own local control plane (cached binaries, loopback only). It measures the time
// from the first create to all hubs Ready against a bare client doing the same writes at the same
// concurrency, the requests and reconciles it took, the writes at rest and after a restart with
// nothing changed, and the operator's memory. Results go to DIR as JSON and Markdown; --check
// exits 1 when the ratio exceeds the tolerance or a write happens at rest or on restart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './scale/args.mjs';
import { runBare } from './scale/bare.mjs';
import { startCluster } from './scale/cluster.mjs';
import { installBase, prepareRun, readPolicy } from './scale/fixtures.mjs';
import { imageEnv } from './scale/image.mjs';
import { runOperator } from './scale/operator-run.mjs';
import { summarizeProfiles } from './scale/profile.mjs';
import { checkFailures, machine, markdown } from './scale/report.mjs';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) =>
  process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  opts.outDir = resolve(opts.out ?? join(tmpdir(), `hdh-bench-scale-${started}`));
  mkdirSync(opts.outDir, { recursive: true });
  if (opts.cpuProf) mkdirSync((opts.cpuProf = resolve(opts.cpuProf)), { recursive: true });
  // Generous: the cluster's own pace on a shared machine; a hang fails the run instead of the CI job.
  opts.convergenceTimeoutMs = Math.max(300_000, opts.hubs * 3000);

  const cluster = await startCluster(log);
  let results;
  try {
    await installBase(cluster.kc, packageRoot);
    const policy = await readPolicy(cluster.kc);
    // The bare client first, while no operator runs; the operator then watches its own namespace.
    const bare = await runBare({
      cluster,
      run: await prepareRun(cluster.kc, 'bare', opts.hubs, opts.concurrency),
      policy,
      opts,
      log,
    });
    const { _convergedAt, ...operator } = await runOperator({
      cluster,
      run: await prepareRun(cluster.kc, 'operator', opts.hubs, opts.concurrency),
      opts,
      packageRoot,
      log,
    });
    results = {
      machine: machine(cluster.kubernetesVersion),
      options: {
        hubs: opts.hubs,
        concurrency: opts.concurrency,
        rest: opts.rest,
        restartWindow: opts.restartWindow,
        // The image's environment, its NODE_OPTIONS replaced by --node-flags when given.
        operatorEnv: {
          ...imageEnv(packageRoot),
          ...(opts.nodeFlags !== undefined ? { NODE_OPTIONS: opts.nodeFlags } : {}),
        },
      },
      startedAt: new Date(started).toISOString(),
      operator,
      bare,
      ratio: operator.convergenceMs / bare.convergenceMs,
    };
  } finally {
    if (opts.keepCluster) log(`cluster kept in ${cluster.dir}`);
    else await cluster.stop();
  }
  results.wallMs = Date.now() - started;
  if (opts.cpuProf) results.profile = summarizeProfiles(opts.cpuProf);
  if (opts.check) {
    const failures = checkFailures(results, opts.tolerance);
    results.check = { tolerance: opts.tolerance, failures };
  }
  const base = join(opts.outDir, `scale-${opts.hubs}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(results));
  process.stdout.write(markdown(results));
  log(`results in ${base}.json and ${base}.md`);
  return results.check?.failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(2);
  },
);
