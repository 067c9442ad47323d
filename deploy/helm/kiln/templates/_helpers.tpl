{{/* Names and labels. */}}
{{- define "kiln.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kiln.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kiln.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kiln.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kiln.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kiln.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "kiln.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kiln.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference: repository@digest, or repository:tag. */}}
{{- define "kiln.image" -}}
{{- $repo := required "image.repository is required: the repository you pushed the image built from the Dockerfile to (no public image is published)" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The most pods there can be at once, for the connection budget. */}}
{{- define "kiln.maxPods" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.maxReplicas -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/*
kiln.validate fails rendering, naming the value to set, for every
combination the schema cannot express. Included once, by the Deployment.
*/}}
{{- define "kiln.validate" -}}
{{- $_ := include "kiln.image" . -}}
{{- $_ := required "kiln.publicURL is required: the https URL clients reach Kiln at (KILN_PUBLIC_URL), such as https://kiln.example.com" .Values.kiln.publicURL -}}
{{- $_ := required "secrets.existingSecret is required: the name of a Secret you created holding database-url, master-key, operator-token and redis-url (see values.yaml)" .Values.secrets.existingSecret -}}
{{- $maxPods := include "kiln.maxPods" . | int -}}
{{- if and (gt $maxPods 1) (not .Values.redis.enabled) -}}
{{- fail (printf "redis.enabled=false with up to %d pods: each pod would count rate limits on its own, giving clients %d times their plan's limits; set redis.enabled=true (and the redis-url entry of secrets.existingSecret) or run one replica" $maxPods $maxPods) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if gt (int .Values.database.maxIdleConns) (int .Values.database.maxOpenConns) -}}
{{- fail (printf "database.maxIdleConns (%d) must not exceed database.maxOpenConns (%d)" (int .Values.database.maxIdleConns) (int .Values.database.maxOpenConns)) -}}
{{- end -}}
{{- $max := int .Values.database.maxConnections -}}
{{- if gt $max 0 -}}
{{- /* one more pod than the most there can be, for the rolling update's
       surge; each holds its pool and one LISTEN connection */ -}}
{{- $pods := add1 $maxPods -}}
{{- $need := add (mul $pods (add1 (int .Values.database.maxOpenConns))) (int .Values.database.reservedConnections) -}}
{{- if gt (int $need) $max -}}
{{- fail (printf "database connections: %d pods (up to %d, plus 1 during a rolling update) x (database.maxOpenConns %d + 1 for notifications) + database.reservedConnections %d = %d, more than database.maxConnections %d (PostgreSQL's max_connections); lower database.maxOpenConns or the pod count, or raise max_connections and database.maxConnections" (int $pods) $maxPods (int .Values.database.maxOpenConns) (int .Values.database.reservedConnections) (int $need) $max) -}}
{{- end -}}
{{- end -}}
{{- if .Values.networkPolicy.enabled -}}
{{- if not .Values.networkPolicy.databaseTo -}}
{{- fail "networkPolicy.databaseTo is required with networkPolicy.enabled: the peers (podSelector/namespaceSelector, or an ipBlock) where PostgreSQL is, or the pods cannot reach the database" -}}
{{- end -}}
{{- if and .Values.redis.enabled (not .Values.networkPolicy.redisTo) -}}
{{- fail "networkPolicy.redisTo is required with networkPolicy.enabled and redis.enabled: the peers where Redis is" -}}
{{- end -}}
{{- end -}}
{{- if eq (int .Values.metrics.port) (int .Values.containerPort) -}}
{{- fail (printf "metrics.port (%d) must differ from containerPort: the metrics listener is a second listener (or set metrics.port to 0)" (int .Values.metrics.port)) -}}
{{- end -}}
{{- if and .Values.kiln.oidc.issuer (not .Values.kiln.oidc.clientID) -}}
{{- fail "kiln.oidc.clientID is required with kiln.oidc.issuer: Kiln's client ID at the OpenID provider" -}}
{{- end -}}
{{- end -}}

{{/* secretEnv NAME KEY: an environment variable read from the Secret. */}}
{{- define "kiln.secretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ (index . 0).Values.secrets.existingSecret }}
      key: {{ index . 2 }}
{{- end -}}

{{/* Environment shared by the migration and the server. */}}
{{- define "kiln.storageEnv" -}}
- name: KILN_ENV
  value: production
- name: KILN_DATA_DIR
  value: /var/lib/kiln
{{ include "kiln.secretEnv" (list . "KILN_DATABASE_URL" .Values.secrets.keys.databaseURL) }}
{{- end -}}

{{/* The server's own environment. */}}
{{- define "kiln.serveEnv" -}}
- name: KILN_ADDR
  value: {{ printf ":%d" (int .Values.containerPort) | quote }}
- name: KILN_PUBLIC_URL
  value: {{ .Values.kiln.publicURL | quote }}
- name: KILN_LOG_FORMAT
  value: {{ .Values.kiln.logFormat | quote }}
- name: KILN_LOG_LEVEL
  value: {{ .Values.kiln.logLevel | quote }}
- name: KILN_BUILD_WORKERS
  value: {{ .Values.kiln.buildWorkers | quote }}
- name: KILN_MCP_IP_REQUESTS_PER_MINUTE
  value: {{ .Values.kiln.mcpIPRequestsPerMinute | quote }}
{{- with .Values.kiln.trustedProxies }}
- name: KILN_TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kiln.egressAllowPrivate }}
- name: KILN_EGRESS_ALLOW_PRIVATE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kiln.libraryKeys }}
- name: KILN_LIBRARY_KEYS
  value: {{ . | quote }}
{{- end }}
{{- if gt (int .Values.metrics.port) 0 }}
- name: KILN_METRICS_ADDR
  value: {{ printf ":%d" (int .Values.metrics.port) | quote }}
{{- end }}
- name: KILN_DRAIN_DELAY
  value: {{ printf "%ds" (int .Values.drain.delaySeconds) | quote }}
- name: KILN_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int .Values.drain.shutdownTimeoutSeconds) | quote }}
- name: KILN_DB_MAX_OPEN_CONNS
  value: {{ .Values.database.maxOpenConns | quote }}
- name: KILN_DB_MAX_IDLE_CONNS
  value: {{ .Values.database.maxIdleConns | quote }}
- name: KILN_DB_CONN_MAX_LIFETIME
  value: {{ .Values.database.connMaxLifetime | quote }}
- name: KILN_DB_CONN_MAX_IDLE_TIME
  value: {{ .Values.database.connMaxIdleTime | quote }}
- name: KILN_DB_SYNC_EXECUTION_LOG
  value: {{ .Values.database.syncExecutionLog | quote }}
{{ include "kiln.secretEnv" (list . "KILN_MASTER_KEY" .Values.secrets.keys.masterKey) }}
{{ include "kiln.secretEnv" (list . "KILN_OPERATOR_TOKEN" .Values.secrets.keys.operatorToken) }}
{{- if .Values.redis.enabled }}
{{ include "kiln.secretEnv" (list . "KILN_REDIS_URL" .Values.secrets.keys.redisURL) }}
{{- end }}
{{- with .Values.kiln.oidc }}
{{- if .issuer }}
- name: KILN_OIDC_ISSUER
  value: {{ .issuer | quote }}
- name: KILN_OIDC_CLIENT_ID
  value: {{ .clientID | quote }}
- name: KILN_OIDC_SIGNUP
  value: {{ .signup | quote }}
{{- with .name }}
- name: KILN_OIDC_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.secrets.keys.oidcClientSecret }}
{{ include "kiln.secretEnv" (list $ "KILN_OIDC_CLIENT_SECRET" .) }}
{{- end }}
{{- with .Values.kiln.llmProviders }}
- name: KILN_LLM_PROVIDERS
  value: {{ . | quote }}
{{- end }}
{{- range $i, $key := .Values.secrets.keys.llm }}
{{ include "kiln.secretEnv" (list $ (printf "KILN_LLM_KEY_%d" (add1 $i)) $key) }}
{{- end }}
{{- with .Values.kiln.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* securityContext of every container. */}}
{{- define "kiln.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The writable volumes every container mounts. */}}
{{- define "kiln.volumeMounts" -}}
- name: data
  mountPath: /var/lib/kiln
- name: tmp
  mountPath: /tmp
{{- end -}}
