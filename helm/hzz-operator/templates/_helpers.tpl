{{/* Names are capped at 63 characters: they end up in labels and DNS names. */}}
{{- define "hzz.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release name alone, not "<release>-<chart>": `helm install hzz` then gives hzz-operator,
hzz-plotter, hzz-rabbitmq, names that read well in `kubectl get`.
*/}}
{{- define "hzz.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "hzz.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hzz.labels" -}}
helm.sh/chart: {{ include "hzz.chart" . }}
app.kubernetes.io/name: {{ include "hzz.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hzz-operator
{{- end }}

{{/* Selector labels never include the version: a Deployment's selector is immutable. */}}
{{- define "hzz.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hzz.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hzz.componentLabels" -}}
{{ include "hzz.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hzz.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{- define "hzz.operatorServiceAccount" -}}
{{- .Values.operator.serviceAccount.name | default (printf "%s-operator" (include "hzz.fullname" .)) }}
{{- end }}

{{- define "hzz.workerServiceAccount" -}}
{{- .Values.worker.serviceAccount.name | default (printf "%s-worker" (include "hzz.fullname" .)) }}
{{- end }}

{{/* Where chunk Jobs (and so the worker ServiceAccount and the broker Secret they use) live. */}}
{{- define "hzz.workNamespace" -}}
{{- .Values.operator.watchNamespace | default .Release.Namespace }}
{{- end }}

{{/* The labels the operator gives every chunk pod (operator/job-spec.ts, operator/naming.ts). */}}
{{- define "hzz.chunkPodSelector" -}}
matchLabels:
  app.kubernetes.io/managed-by: hzz-operator
  app.kubernetes.io/component: worker
matchExpressions:
  - key: hzz.opendata.dev/analysis
    operator: Exists
{{- end }}

{{- define "hzz.plotterClaim" -}}
{{- .Values.plotter.persistence.existingClaim | default (printf "%s-plotter-results" (include "hzz.fullname" .)) }}
{{- end }}

{{- define "hzz.dataClaim" -}}
{{- if .Values.data.existingClaim -}}
{{ .Values.data.existingClaim }}
{{- else if .Values.data.hostPath.path -}}
{{ include "hzz.fullname" . }}-data
{{- end }}
{{- end }}

{{/* The Secret holding the operator's partial master key (templates/operator-secret.yaml). */}}
{{- define "hzz.partialMasterKeySecret" -}}
{{ include "hzz.fullname" . }}-partial-master-key
{{- end }}

{{/* The Secret that holds the broker URLs, whichever the mode. */}}
{{- define "hzz.brokerSecret" -}}
{{- if eq .Values.broker.mode "external" -}}
{{ required "broker.external.existingSecret is required when broker.mode is external" .Values.broker.external.existingSecret }}
{{- else if eq .Values.broker.mode "builtin" -}}
{{ include "hzz.fullname" . }}-rabbitmq
{{- else -}}
{{ fail (printf "broker.mode must be builtin or external, not %q" .Values.broker.mode) }}
{{- end }}
{{- end }}

{{/* The key of that Secret that holds one component's URL (dict "ctx" . "component" operator|plotter|worker). */}}
{{- define "hzz.brokerUrlKey" -}}
{{- $broker := .ctx.Values.broker -}}
{{- if eq $broker.mode "external" -}}
{{ index ($broker.external.urlKeys | default dict) .component | default $broker.external.urlKey | default "url" }}
{{- else -}}
{{ .component }}-url
{{- end }}
{{- end }}

{{/*
Each component's RabbitMQ user in builtin mode, and its permissions on the vhost: regexes over the
names of transport/topology.ts (configure: declare or delete; write: publish to an exchange, or be
the queue of a binding; read: consume a queue, or be the exchange of a binding). The plotter
declares the topology and consumes, and publishes only its dead letters; the operator publishes
plans and nothing else; chunk pods publish partials and nothing else. No component can write to
the exchange another writes to, so a chunk pod can never send a plan. docs/contracts.md ("Who may
say what"); test/broker-users.test.ts loads these into the real broker.
*/}}
{{- define "hzz.brokerUsers" -}}
operator:
  configure: '^$'
  write: '^hzz\.plan$'
  read: '^$'
plotter:
  configure: '^hzz\.(partial|plan|dead|partials|plans|partials\.dead|plans\.dead)$'
  write: '^hzz\.(dead|partials|plans|partials\.dead|plans\.dead)$'
  read: '^hzz\.(partial|plan|dead|partials|plans)$'
worker:
  configure: '^$'
  write: '^hzz\.partial$'
  read: '^$'
{{- end }}

{{- define "hzz.storageClass" -}}
{{- if eq . "-" }}
storageClassName: ""
{{- else if . }}
storageClassName: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The restricted Pod Security Standard, for every pod of the chart. The UID is fixed (not just
runAsNonRoot) so that files on the PVCs keep one owner across image rebuilds.
*/}}
{{- define "hzz.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .runAsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "hzz.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* A component's broker URL, as HZZ_AMQP_URL (dict "ctx" . "component" operator|plotter). */}}
{{- define "hzz.brokerEnv" -}}
- name: HZZ_AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "hzz.brokerSecret" .ctx }}
      key: {{ include "hzz.brokerUrlKey" . }}
{{- end }}

{{/*
Node and its libraries look up caches under HOME (npm, anything under ~/.cache); the root
filesystem is read-only, so HOME points at the writable /tmp emptyDir.
*/}}
{{- define "hzz.runtimeEnv" -}}
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/.cache
{{- end }}

{{/*
The operator's rights: exactly the API calls it makes, as operator/rbac.ts lists them (a Helm
chart cannot import TypeScript, so they are written out here and test/helm-chart.test.ts fails
when the two differ). docs/helm.md gives the reason for each rule; the test also checks them
against the real authorizer, allowed and denied.
*/}}
{{- define "hzz.leaderElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end }}

{{- define "hzz.operatorRules" -}}
- apiGroups: ["hzz.opendata.dev"]
  resources: ["hzzanalyses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["hzz.opendata.dev"]
  resources: ["hzzanalyses/status"]
  verbs: ["patch"]
# Jobs and plan ConfigMaps name their analysis as owner with blockOwnerDeletion, which clusters
# running the OwnerReferencesPermissionEnforcement admission plugin allow only with this right.
- apiGroups: ["hzz.opendata.dev"]
  resources: ["hzzanalyses/finalizers"]
  verbs: ["update"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create", "delete", "list", "watch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "list", "watch", "patch", "delete"]
# Each analysis's partial key Secret: read by name to check it, made, replaced when wrong. Never
# listed or watched.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
