// Command line of `npm run bench:scale`: plain flags, no dependency.
const USAGE = `usage: npm run bench:scale -- --hubs N [--concurrency C] [--rest SECONDS] [--restart-window SECONDS]
                                [--check] [--tolerance RATIO] [--out DIR] [--cpu-prof DIR] [--keep-cluster]
                                [--node-flags "FLAGS"] [--heap-snapshot]`;

const DEFAULTS = {
  hubs: 100,
  concurrency: 4,
  rest: 120,
  restartWindow: 60,
  check: false,
  // The operator's convergence may take this much longer than the bare client's before --check fails.
  tolerance: 1.25,
  out: undefined,
  cpuProf: undefined,
  nodeFlags: undefined,
  keepCluster: false,
  heapSnapshot: false,
};

const NUMBERS = {
  '--hubs': 'hubs',
  '--concurrency': 'concurrency',
  '--rest': 'rest',
  '--restart-window': 'restartWindow',
  '--tolerance': 'tolerance',
};
const STRINGS = { '--out': 'out', '--cpu-prof': 'cpuProf', '--node-flags': 'nodeFlags' };
const FLAGS = { '--check': 'check', '--keep-cluster': 'keepCluster', '--heap-snapshot': 'heapSnapshot' };

/** The options of argv (`--name value` or `--name=value`); throws with the usage on anything else. */
export function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    if (FLAGS[flag]) opts[FLAGS[flag]] = true;
    else if (STRINGS[flag]) opts[STRINGS[flag]] = value();
    else if (NUMBERS[flag]) {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number\n${USAGE}`);
      opts[NUMBERS[flag]] = n;
    } else throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
  }
  if (!Number.isInteger(opts.hubs) || !Number.isInteger(opts.concurrency)) {
    throw new Error(`--hubs and --concurrency take whole numbers\n${USAGE}`);
  }
  return opts;
}
