// Command line of `npm run chaos`: plain flags, no dependency.
import { SCALES, type Scale } from './harness/experiment.js';

export interface ChaosArgs {
  only: string[];
  scale: Scale;
  out: string | undefined;
  list: boolean;
}

export const USAGE = `usage: npm run chaos -- [--only NAME[,NAME…]]… [--scale small|full] [--out DIR] [--list]

  --only   run these experiments only (default: all, in order)
  --scale  small: minutes, the size CI runs; full (default): the sizes the experiments are specified at
  --out    where summary.json, summary.md and the operators' logs go (default .cache/chaos/<time>)
  --list   print the experiments and what each proves`;

/** The options of argv (`--name value` or `--name=value`); throws with the usage on anything else. */
export function parseChaosArgs(argv: readonly string[], known: readonly string[]): ChaosArgs {
  const args: ChaosArgs = { only: [], scale: 'full', out: undefined, list: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else if (flag === '--list') args.list = true;
    else if (flag === '--out') args.out = value();
    else if (flag === '--scale') {
      const s = value();
      if (!SCALES.includes(s as Scale)) throw new Error(`--scale takes small or full, not ${s}\n${USAGE}`);
      args.scale = s as Scale;
    } else if (flag === '--only') {
      for (const name of value().split(',').filter(Boolean)) {
        if (!known.includes(name)) throw new Error(`no experiment ${name}; there are: ${known.join(', ')}`);
        args.only.push(name);
      }
    } else throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
  }
  return args;
}
