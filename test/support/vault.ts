// A real Vault dev server for the transit provider's tests: in-memory, loopback only, TLS with a
// CA of its own, a random root token. Vault serves the same Transit API as OpenBao; the binary is
// built by hack/build-vault.sh (or named by TEST_ASSET_VAULT). No stand-in is ever used.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { HubEncryption } from '../../src/api/index.js';
import { parseEnvFile } from '../../src/devcluster/versions.js';

/** The parts of the server's JSON answers the tests read. */
export interface VaultBody {
  data?: Record<string, unknown>;
  auth?: { client_token?: string };
  errors?: string[];
}

export interface VaultDevServer {
  address: string;
  rootToken: string;
  /** PEM of the CA that signs the server's certificate. */
  ca: string;
  /** Calls the server's HTTP API as root; resolves with the status and parsed body. */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: VaultBody | undefined }>;
  stop(): Promise<void>;
}

/** The vault binary: TEST_ASSET_VAULT, else hack/build-vault.sh's output in the cache. */
export function vaultBinary(): string {
  const fromEnv = process.env.TEST_ASSET_VAULT;
  const version = parseEnvFile(
    readFileSync(join(process.cwd(), 'hack', 'versions.env'), 'utf8'),
  ).VAULT_VERSION;
  const cacheRoot = process.env.HDH_CACHE_DIR ?? join(homedir(), '.cache', 'hdh-operator');
  const path = fromEnv ?? join(cacheRoot, `vault-v${version}`, 'bin', 'vault');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `no vault binary at ${path}: run hack/build-vault.sh (builds Vault v${version} from the Go module proxy) or set TEST_ASSET_VAULT`,
    );
  }
  return path;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function call(
  address: string,
  ca: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: VaultBody | undefined }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const r = request(
      new URL(path, address),
      {
        method,
        ca,
        timeout: 5000,
        headers: {
          'X-Vault-Token': token,
          ...(payload ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: VaultBody | undefined;
          try {
            parsed = text ? (JSON.parse(text) as VaultBody) : undefined;
          } catch {
            parsed = { errors: [text] };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end(payload);
  });
}

/** Starts a dev server with a Transit engine mounted at `transit` (upsert left on, the default). */
export async function startVaultDevServer(): Promise<VaultDevServer> {
  const bin = vaultBinary();
  const dir = mkdtempSync(join(tmpdir(), 'hdh-vault-'));
  const port = await freePort();
  const rootToken = randomBytes(18).toString('base64url');
  const address = `https://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    bin,
    [
      'server',
      '-dev',
      '-dev-tls',
      `-dev-tls-cert-dir=${dir}`,
      `-dev-root-token-id=${rootToken}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      '-dev-no-store-token',
    ],
    // HOME points at the temporary directory so the dev server writes no token helper files in
    // the user's home.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: dir } },
  );
  const collect = (c: Buffer) => {
    output = (output + c.toString('utf8')).slice(-20000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    let ca = '';
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vault dev server exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`vault dev server not ready after 30s:\n${output}`);
      try {
        ca = ca || readFileSync(join(dir, 'vault-ca.pem'), 'utf8');
        const health = await call(address, ca, rootToken, 'GET', '/v1/sys/health');
        if (health.status === 200) break;
      } catch {
        // Not listening, or the CA file not written yet.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const api = (method: string, path: string, body?: unknown, token = rootToken) =>
      call(address, ca, token, method, path, body);
    const mounted = await api('POST', '/v1/sys/mounts/transit', { type: 'transit' });
    if (mounted.status !== 204 && mounted.status !== 200) {
      throw new Error(`cannot mount transit: HTTP ${mounted.status} ${JSON.stringify(mounted.body)}`);
    }
    return { address, rootToken, ca, api, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The Secrets a transit hub in `namespace` names (the server's root token and CA), created there;
 * resolves with the hub's spec.encryption for that server.
 */
export async function transitEncryption(
  core: CoreV1Api,
  namespace: string,
  vault: VaultDevServer,
): Promise<HubEncryption> {
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'transit-token' }, stringData: { token: vault.rootToken } },
  });
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'transit-ca' }, stringData: { 'ca.crt': vault.ca } },
  });
  return {
    provider: 'transit',
    transit: {
      address: vault.address,
      authSecretRef: { name: 'transit-token', key: 'token' },
      caSecretRef: { name: 'transit-ca', key: 'ca.crt' },
    },
  };
}
