// --kubeconfig and --context reach kubernetes-fluent-client, which always loads the kubeconfig
// itself from $KUBECONFIG: the context is chosen by a last file holding only `current-context`.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect } from '../../../../src/cli/hdh/kubeconfig.js';

describe('connect', () => {
  let dir: string;
  let file: string;
  const saved = process.env.KUBECONFIG;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hdh-kubeconfig-'));
    file = join(dir, 'config');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'eu', cluster: { server: 'https://eu.example:6443' } },
          { name: 'lab', cluster: { server: 'https://lab.example:6443' } },
        ],
        users: [{ name: 'u', user: { token: 'secret-token' } }],
        contexts: [
          { name: 'eu', context: { cluster: 'eu', user: 'u' } },
          { name: 'lab', context: { cluster: 'lab', user: 'u', namespace: 'research' } },
        ],
        'current-context': 'eu',
      }),
    );
  });

  afterEach(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the fluent client would load: loadFromDefault, as it does for every request. */
  const fluentView = () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { server: kc.getCurrentCluster()?.server, context: kc.getCurrentContext() };
  };

  it('makes --kubeconfig the file the fluent client loads', () => {
    process.env.KUBECONFIG = join(dir, 'elsewhere');
    const c = connect({ kubeconfig: file });
    expect(c).toMatchObject({ server: 'https://eu.example:6443', namespace: 'default' });
    expect(fluentView()).toEqual({ server: 'https://eu.example:6443', context: 'eu' });
  });

  it('selects --context for the fluent client too, copying no credential', () => {
    const c = connect({ kubeconfig: file, context: 'lab' });
    expect(c).toMatchObject({ server: 'https://lab.example:6443', namespace: 'research' });
    expect(fluentView()).toEqual({ server: 'https://lab.example:6443', context: 'lab' });
    const files = process.env.KUBECONFIG!.split(delimiter);
    expect(files[0]).toBe(file);
    expect(readFileSync(files[1]!, 'utf8')).not.toContain('secret-token');
  });

  /** A second kubeconfig file with its own cluster and context, current or not. */
  const second = (current: string | undefined) => {
    const other = join(dir, `other-${current ?? 'none'}`);
    writeFileSync(
      other,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'prod', cluster: { server: 'https://prod.example:6443' } }],
        users: [{ name: 'p', user: { token: 'prod-token' } }],
        contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'p' } }],
        ...(current ? { 'current-context': current } : {}),
      }),
    );
    return other;
  };

  it("takes kubectl's context from $KUBECONFIG: the first file that sets one, not the last", () => {
    process.env.KUBECONFIG = [file, second('prod')].join(delimiter);
    const c = connect({});
    expect(c).toMatchObject({ server: 'https://eu.example:6443', context: 'eu' });
    // The fluent client, loading $KUBECONFIG itself, is pinned to the same context.
    expect(fluentView()).toEqual({ server: 'https://eu.example:6443', context: 'eu' });
  });

  it('skips files of $KUBECONFIG that set no current context, as kubectl does', () => {
    const noCurrent = join(dir, 'no-current');
    writeFileSync(noCurrent, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [] }));
    process.env.KUBECONFIG = [noCurrent, second('prod'), file].join(delimiter);
    expect(connect({})).toMatchObject({ server: 'https://prod.example:6443', context: 'prod' });
    expect(fluentView()).toEqual({ server: 'https://prod.example:6443', context: 'prod' });
  });

  it('names the context it uses, also when --context picks it', () => {
    expect(connect({ kubeconfig: file })).toMatchObject({ context: 'eu' });
    expect(connect({ kubeconfig: file, context: 'lab' })).toMatchObject({ context: 'lab' });
  });

  it('says what is wrong with the kubeconfig', () => {
    expect(() => connect({ kubeconfig: join(dir, 'absent') })).toThrow(
      `no kubeconfig at ${join(dir, 'absent')}`,
    );
    expect(() => connect({ kubeconfig: file, context: 'prod' })).toThrow(
      `context prod is not in the kubeconfig ${file}`,
    );
  });
});
