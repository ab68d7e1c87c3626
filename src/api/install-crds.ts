// Installs the CustomResourceDefinitions of crds/ into a cluster and waits until they are
// served. Idempotent (server-side apply), so the dev command and tests can call it every time.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { FIELD_MANAGER } from './index.js';

export interface InstallCrdsOptions {
  /** How long to wait for every CRD to be Established. */
  timeoutMs?: number;
  /** Field manager of the server-side apply. */
  fieldManager?: string;
}

/** Applies every CRD found in `dir` and resolves with their names once all are Established. */
export async function installCrds(
  kc: KubeConfig,
  dir = 'crds',
  { timeoutMs = 60_000, fieldManager = FIELD_MANAGER }: InstallCrdsOptions = {},
): Promise<string[]> {
  const crds = await readCrds(dir);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  for (const crd of crds) {
    // The body goes out as written: KubernetesObjectApi would pass it through the client's
    // model serializer, which drops schema keywords whose JSON names differ from the model's
    // (enum, default, x-kubernetes-*). force: the files win over any other field manager.
    const name = crd.metadata?.name ?? '';
    await api.patchCustomResourceDefinition({ name, body: crd, fieldManager, force: true }, apply);
  }
  const names = crds.map((crd) => crd.metadata?.name ?? '');
  await waitEstablished(api, names, timeoutMs);
  return names;
}

async function readCrds(dir: string): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${join(dir, file)}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as V1CustomResourceDefinition | null;
      if (object?.kind === 'CustomResourceDefinition') crds.push(object);
    }
  }
  if (!crds.length) throw new Error(`no CustomResourceDefinition found in ${dir}`);
  return crds;
}

async function waitEstablished(api: ApiextensionsV1Api, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const waiting = new Set(names);
  let last = '';
  while (waiting.size) {
    for (const name of [...waiting]) {
      const crd = await api.readCustomResourceDefinition({ name });
      const conditions = crd.status?.conditions ?? [];
      const established = conditions.find((c) => c.type === 'Established');
      const namesAccepted = conditions.find((c) => c.type === 'NamesAccepted');
      if (established?.status === 'True') waiting.delete(name);
      else last = `${name}: ${namesAccepted?.message || established?.message || 'not established yet'}`;
    }
    if (!waiting.size) return;
    if (Date.now() > deadline) throw new Error(`CRDs not established after ${timeoutMs} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
