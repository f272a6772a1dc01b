import { GROUP, PLURAL } from './api/v1alpha1.js';

/**
 * The permissions the operator needs: exactly the calls kube-adapter.ts and the informers make,
 * as RBAC PolicyRules. The Helm chart's (Cluster)Role is written from this list (docs/operator.md
 * shows it), and the cluster test runs the operator as a service account bound to nothing more.
 */
export const OPERATOR_RULES = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
  // Owner references with blockOwnerDeletion need this where the OwnerReferencesPermissionEnforcement admission plugin is on.
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  // Each analysis's partial key Secret (operator/partial-key.ts), read by name to check its content
  // and replaced when wrong; never listed or watched, so no Secret is read that the operator did not name.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'delete'] },
  // A failed attempt's exit code and termination message are on its pod.
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
] as const;

/** With leader election (operator/leader-election.ts), in the operator's own namespace only. */
export const LEADER_ELECTION_RULES = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
] as const;
