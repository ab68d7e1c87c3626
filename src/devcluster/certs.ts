// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
// @peculiar/x509 types its keys with the DOM's WebCrypto types; Node's are the same at runtime.
type X509Key = Parameters<typeof x509.X509CertificateGenerator.create>[0] extends infer P
  ? P extends { signingKey: infer K }
    ? K
    : never
  : never;
type X509Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

// ECDSA P-256, as envtest does: small, fast to generate, accepted by every component.
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const VALIDITY_MS = 365 * 24 * 3600 * 1000;

export interface PemPair {
  cert: string;
  key: string;
}

export interface ClusterPki {
  servingCa: PemPair;
  apiserver: PemPair;
  clientCa: PemPair;
  admin: PemPair;
  /** Service-account token signing key pair (PKCS#8 private key, SPKI public key). */
  serviceAccount: { key: string; pub: string };
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function publicPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

async function makeCa(
  name: string,
): Promise<{ pem: PemPair; keys: CryptoKeyPair; cert: x509.X509Certificate }> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALIDITY_MS),
    keys: keys as unknown as X509Keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { pem: { cert: cert.toString('pem'), key: await privatePem(keys.privateKey) }, keys, cert };
}

async function makeLeaf(
  ca: { keys: CryptoKeyPair; cert: x509.X509Certificate },
  subject: string,
  usage: x509.ExtendedKeyUsage,
  altNames: x509.JsonGeneralNames = [],
): Promise<PemPair> {
  const keys = await keyPair();
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([usage]),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALIDITY_MS),
    publicKey: keys.publicKey as unknown as X509Key,
    signingKey: ca.keys.privateKey as unknown as X509Key,
    signingAlgorithm: ALG,
    extensions,
  });
  return { cert: cert.toString('pem'), key: await privatePem(keys.privateKey) };
}

/** Three small CAs' worth of material: serving, client, and service-account keys. */
export async function generatePki(serviceIp = '10.96.0.1'): Promise<ClusterPki> {
  const servingCa = await makeCa('hdh-dev-serving-ca');
  const clientCa = await makeCa('hdh-dev-client-ca');
  const apiserver = await makeLeaf(servingCa, 'CN=kube-apiserver', x509.ExtendedKeyUsage.serverAuth, [
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes' },
    { type: 'dns', value: 'kubernetes.default' },
    { type: 'dns', value: 'kubernetes.default.svc' },
    { type: 'dns', value: 'kubernetes.default.svc.cluster.local' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: serviceIp },
  ]);
  const admin = await makeLeaf(clientCa, 'CN=admin, O=system:masters', x509.ExtendedKeyUsage.clientAuth);
  const sa = await keyPair();
  return {
    servingCa: servingCa.pem,
    clientCa: clientCa.pem,
    apiserver,
    admin,
    serviceAccount: { key: await privatePem(sa.privateKey), pub: await publicPem(sa.publicKey) },
  };
}
