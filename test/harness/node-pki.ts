// The test node's credentials, made per run: a bearer token for each part under the identity the
// bootstrap RBAC policy already knows (so each has only its own rights), the service-account key
// pair, and the CA and client certificate with which the API server proves itself to the kubelet.
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE_NAME } from './node-config.js';

const run = promisify(execFile);
const PARTS = ['admin', 'node', 'proxy', 'scheduler', 'controller-manager'] as const;
export type Tokens = Record<(typeof PARTS)[number], string>;

/** CA, and a client certificate signed by it, with which the API server proves itself to the kubelet. */
async function kubeletClientCerts(pki: string): Promise<void> {
  const ca = join(pki, 'kubelet-client-ca');
  const client = join(pki, 'apiserver-kubelet-client');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hzz-node-kubelet-client-ca', '-keyout', `${ca}.key`, '-out', `${ca}.crt`]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client', '-keyout', `${client}.key`, '-out', `${client}.csr`]);
  await run('openssl', ['x509', '-req', '-days', '2', '-in', `${client}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${client}.crt`]);
}


/** Writes tokens.csv, sa.pub/sa.key and the kubelet client certificates into pki; returns the tokens. */
export async function makeCredentials(pki: string): Promise<Tokens> {
  const tokens = Object.fromEntries(PARTS.map((k) => [k, randomBytes(24).toString('hex')])) as Tokens;
  const [keys] = await Promise.all([
    promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }),
    kubeletClientCerts(pki),
  ]);
  await writeFile(join(pki, 'sa.pub'), keys.publicKey);
  await writeFile(join(pki, 'sa.key'), keys.privateKey, { mode: 0o600 });
  await writeFile(
    join(pki, 'tokens.csv'),
    [
      `${tokens.admin},hzz-admin,hzz-admin,"system:masters"`,
      `${tokens.node},system:node:${NODE_NAME},${NODE_NAME},"system:nodes"`,
      `${tokens.proxy},system:kube-proxy,kube-proxy`,
      `${tokens.scheduler},system:kube-scheduler,kube-scheduler`,
      `${tokens['controller-manager']},system:kube-controller-manager,kube-controller-manager`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  return tokens;
}
