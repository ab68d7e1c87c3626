// The pure parts of `hdh-operator unwrap-dek`: reading the mounted Secret, the in-cluster client,
// and writing the key files (whole, mode 0440, active key last).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dekSetFromFiles,
  inClusterKubeConfig,
  keyFiles,
  KEY_FILE_MODE,
  parseHub,
  readPinFile,
  readTransitToken,
  readSecretDir,
  UnwrapDekError,
  writeKeyFiles,
} from '../../../src/cli/unwrap-dek.js';
import { renderDekSecret, newDekSet, addDekVersion } from '../../../src/keys/dek.js';

const uid = '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c';
const ref = { namespace: 'research', name: 'oncology', uid };
const now = new Date('2025-01-01T00:00:00Z');
const set = addDekVersion(
  newDekSet({ hub: ref, provider: 'builtin', kekRef: 'secret/hdh-system/k', wrapped: 'v1:AAAA', now }),
  'v1:BBBB',
  now,
);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'unwrap-dek-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The Secret as the kubelet mounts it: `..data` links to a timestamped directory of files. */
function mountSecret(data: Record<string, string>): string {
  const mount = join(dir, 'wrapped');
  const ts = join(mount, '..2025_01_01');
  mkdirSync(ts, { recursive: true });
  symlinkSync('..2025_01_01', join(mount, '..data'));
  for (const [k, v] of Object.entries(data)) {
    writeFileSync(join(ts, k), Buffer.from(v, 'base64'));
    symlinkSync(join('..data', k), join(mount, k));
  }
  return mount;
}

describe('parseHub', () => {
  it('reads namespace/name and checks the uid', () => {
    expect(parseHub('research/oncology', uid)).toEqual(ref);
    expect(() => parseHub('oncology', uid)).toThrow(UnwrapDekError);
    expect(() => parseHub('research/oncology', 'not-a-uid')).toThrow(/metadata.uid/);
  });
});

describe('reading the wrapped keys', () => {
  it('parses the mounted Secret with the operator’s own parser, skipping the kubelet entries', () => {
    const mount = mountSecret(renderDekSecret(ref, set).data!);
    const files = readSecretDir(mount);
    expect(Object.keys(files)).not.toContain('..data');
    expect(dekSetFromFiles(files, ref)).toEqual(set);
  });

  it('refuses keys of another hub and says so', () => {
    const mount = mountSecret(renderDekSecret(ref, set).data!);
    const other = { ...ref, uid: '1f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };
    expect(() => dekSetFromFiles(readSecretDir(mount), other)).toThrow(/earlier hub/);
  });

  it('says what to mount when the directory is missing', () => {
    expect(() => readSecretDir(join(dir, 'nope'))).toThrow(/mount the Secret <hub>-keys/);
  });

  it('reports a damaged set as unusable', () => {
    const data = renderDekSecret(ref, set).data!;
    delete data['dek-v1'];
    expect(() => dekSetFromFiles(readSecretDir(mountSecret(data)), ref)).toThrow(UnwrapDekError);
  });
});

describe('inClusterKubeConfig', () => {
  it('uses the projected token and CA against the service address', () => {
    writeFileSync(join(dir, 'token'), 'tok\n');
    writeFileSync(join(dir, 'ca.crt'), 'ca');
    const kc = inClusterKubeConfig(dir, {
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://[fd00::1]:443',
      caFile: join(dir, 'ca.crt'),
    });
    expect(kc.getCurrentUser()?.token).toBe('tok');
  });

  it('fails closed without the service address or the token', () => {
    expect(() => inClusterKubeConfig(dir, {})).toThrow(/KUBERNETES_SERVICE_HOST/);
    expect(() =>
      inClusterKubeConfig(dir, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }),
    ).toThrow(/projected service-account token/);
  });
});

describe('readPinFile', () => {
  it('drops one trailing line break and refuses an empty PIN', () => {
    writeFileSync(join(dir, 'pin'), '1234\n');
    expect(readPinFile(dir)).toBe('1234');
    writeFileSync(join(dir, 'pin'), '');
    expect(() => readPinFile(dir)).toThrow(/empty/);
  });
});

describe('readTransitToken', () => {
  it('drops one trailing line break, refuses an empty token and names the Secret to mount', () => {
    writeFileSync(join(dir, 'token'), 's.token\n');
    expect(readTransitToken(dir)).toBe('s.token');
    writeFileSync(join(dir, 'token'), '\n');
    expect(() => readTransitToken(dir)).toThrow(/empty/);
    rmSync(join(dir, 'token'));
    expect(() => readTransitToken(dir)).toThrow(/authSecretRef/);
  });
});

describe('key files', () => {
  const deks = new Map([
    [1, randomBytes(32)],
    [2, randomBytes(32)],
  ]);

  it('writes every version, then active-version and dek, mode 0440', () => {
    const files = keyFiles(set, deks);
    expect(files.map((f) => f.name)).toEqual(['dek-v1', 'dek-v2', 'active-version', 'dek']);
    writeKeyFiles(dir, files);
    writeKeyFiles(dir, files); // a restarted init container replaces what it left
    expect(readFileSync(join(dir, 'dek'))).toEqual(deks.get(2));
    expect(readFileSync(join(dir, 'dek-v1'))).toEqual(deks.get(1));
    expect(readFileSync(join(dir, 'active-version'), 'utf8')).toBe('2\n');
    for (const f of files) expect(statSync(join(dir, f.name)).mode & 0o777).toBe(KEY_FILE_MODE);
  });

  it('refuses a version that did not unwrap to 256 bits', () => {
    expect(() => keyFiles(set, new Map([[1, randomBytes(32)]]))).toThrow(/version 2/);
    expect(() => keyFiles(set, new Map([...deks, [2, randomBytes(16)]]))).toThrow(/256-bit/);
  });
});
