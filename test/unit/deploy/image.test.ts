// The operator's image recipe (Docker cannot run here; the production dependency set it installs
// is exercised by test/integration/cli/production-install.test.ts): a base pinned by version and
// digest, the native addon built against the base's own Node headers, only production
// dependencies in the final stage, OCI labels, a non-root user, and the package's version.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const lines = dockerfile.split('\n');
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
/** The instructions of each stage, by its name (the last one is 'final'). */
const stages = (() => {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    const from = /^FROM \S+(?: AS (\S+))?$/.exec(line);
    if (from) out.set(from[1] ?? 'final', (current = []));
    if (current && line && !line.startsWith('#')) current.push(line);
  }
  return out;
})();

describe('the Dockerfile', () => {
  it('pins the Node base image by version and by digest', () => {
    const arg = lines.find((l) => l.startsWith('ARG NODE_IMAGE='));
    expect(arg).toMatch(
      /^ARG NODE_IMAGE=docker\.io\/library\/node:24\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/,
    );
    for (const line of lines.filter((l) => l.startsWith('FROM '))) {
      expect(line).toMatch(/^FROM (\$\{NODE_IMAGE\}|toolchain)( AS \w+)?$/);
    }
  });

  it("labels the image with the package's version", () => {
    expect(lines).toContain(`ARG VERSION=${version}`);
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it("builds the native addon against the base's Node headers, never downloaded ones", () => {
    expect(stages.get('toolchain')).toContain('ENV npm_config_nodedir=/usr/local');
  });

  it('ships only the production dependencies and the built code, as a non-root user', () => {
    expect(stages.get('deps')!.join('\n')).toContain('npm ci --omit=dev');
    const final = stages.get('final')!;
    expect(final.filter((l) => l.startsWith('COPY'))).toEqual([
      'COPY --from=deps /app/node_modules ./node_modules',
      'COPY --from=build /app/dist/src ./dist/src',
      'COPY package.json ./',
    ]);
    expect(final.some((l) => /^RUN .*(apt-get|npm (ci|install))/.test(l))).toBe(false);
    expect(final).toContain('USER 65532:65532');
    expect(final).toContain('ENTRYPOINT ["hdh-operator"]');
  });
});

describe("the image's Node.js options", () => {
  it('are ones Node.js accepts in NODE_OPTIONS, as the bench runs the operator with them', async () => {
    const { imageEnv } = (await import('../../../bench/scale/image.mjs' as string)) as {
      imageEnv: (root: string) => Record<string, string>;
    };
    const env = imageEnv(process.cwd());
    expect(env).toMatchObject({ NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' });
    const options = env.NODE_OPTIONS!;
    expect(stages.get('final')).toContain(`ENV NODE_OPTIONS="${options}"`);
    expect(options).toMatch(/--max-semi-space-size=\d+/);
    // Node refuses a flag it does not allow in NODE_OPTIONS before running anything.
    const run = spawnSync(process.execPath, ['-e', 'process.exit(0)'], {
      env: { ...process.env, NODE_OPTIONS: options },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
