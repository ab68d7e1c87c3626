import { stringify } from 'yaml';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A self-contained kubeconfig (certificates embedded) for the admin user of the dev cluster. */
export function renderKubeconfig(server: string, caPem: string, certPem: string, keyPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hdh-dev', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [
      {
        name: 'hdh-dev-admin',
        user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) },
      },
    ],
    contexts: [{ name: 'hdh-dev', context: { cluster: 'hdh-dev', user: 'hdh-dev-admin' } }],
    'current-context': 'hdh-dev',
    preferences: {},
  });
}
