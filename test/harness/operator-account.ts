// The operator's own identity on a test control plane: a service account bound to OPERATOR_RULES
// and LEADER_ELECTION_RULES and nothing more (so a permission missing from the documented list
// fails the tests), and a kubeconfig that authenticates as it with a bearer token.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/rbac.js';
import type { ControlPlane } from './control-plane.js';

export interface OperatorAccount {
  namespace: string;
  name: string;
  /** The user name the API server knows it by (RBAC, audit). */
  user: string;
  kubeconfig: string;
}

export async function createOperatorAccount(cp: ControlPlane, sa = { namespace: 'hzz-system', name: 'hzz-operator' }): Promise<OperatorAccount> {
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}:\n${res.stderr}`);
    return res.stdout;
  };
  await kubectl(['create', 'namespace', sa.namespace]);
  await kubectl(['create', 'serviceaccount', sa.name, '-n', sa.namespace]);
  const subjects = [{ kind: 'ServiceAccount', ...sa }];
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: sa.name }, rules: OPERATOR_RULES },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: sa.name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa.name }, subjects,
      },
      // Leader election's Lease, in the operator's own namespace.
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: sa.name, namespace: sa.namespace }, rules: LEADER_ELECTION_RULES },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: sa.name, namespace: sa.namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa.name }, subjects,
      },
    ],
  }));
  const config = JSON.parse(readFileSync(cp.kubeconfig, 'utf8')) as { users: { name: string; user: { token: string } }[] };
  config.users[0]!.user.token = (await kubectl(['create', 'token', sa.name, '-n', sa.namespace, '--duration=2h'])).trim();
  const kubeconfig = join(cp.dir, 'operator.kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  return { ...sa, user: `system:serviceaccount:${sa.namespace}:${sa.name}`, kubeconfig };
}
