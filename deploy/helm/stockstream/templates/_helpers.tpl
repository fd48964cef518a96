{{/* Chart name, truncated to the 63-character DNS label limit. */}}
{{- define "stockstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name. */}}
{{- define "stockstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects: <fullname>-<component>. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "stockstream.componentName" -}}
{{- printf "%s-%s" (include "stockstream.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stockstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "stockstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: stockstream
{{- end }}

{{- define "stockstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stockstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "stockstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stockstream.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "stockstream.image" -}}
{{- printf "%s/stockstream-%s:%s" .root.Values.image.registry .component (default .root.Chart.AppVersion .root.Values.image.tag) }}
{{- end }}

{{/* The Redis connection string when it is a plain value: the in-cluster development Redis, or redis.connectionString (+ ssl=True when redis.tls). */}}
{{- define "stockstream.redisConnectionString" -}}
{{- if .Values.redis.inCluster.enabled }}
{{- printf "%s:6379,abortConnect=False" (include "stockstream.componentName" (dict "root" . "component" "redis")) }}
{{- else }}
{{- $value := required "redis.connectionString or redis.secretKey is required (or redis.inCluster.enabled for development)" .Values.redis.connectionString }}
{{- if and .Values.redis.tls (not (regexMatch "(?i)(^|,)\\s*ssl\\s*=" $value)) }}
{{- printf "%s,ssl=True" $value }}
{{- else }}
{{- $value }}
{{- end }}
{{- end }}
{{- end }}

{{/* ConnectionStrings__redis: from the Secret when redis.secretKey is set (external Redis with a password), else the plain value. */}}
{{- define "stockstream.redisEnv" -}}
- name: ConnectionStrings__redis
{{- if and .Values.redis.secretKey (not .Values.redis.inCluster.enabled) }}
  valueFrom:
    secretKeyRef:
      name: {{ required "auth.existingSecret is required" .Values.auth.existingSecret }}
      key: {{ .Values.redis.secretKey }}
{{- else }}
  value: {{ include "stockstream.redisConnectionString" . | quote }}
{{- end }}
{{- end }}

{{/* Argo CD sync wave: order of apply within one sync (RBAC and policies first, workloads, then monitoring). */}}
{{- define "stockstream.syncWave" -}}
argocd.argoproj.io/sync-wave: {{ . | quote }}
{{- end }}

{{/* Auth__* for the gateway and the web: OIDC authority, or the development signing key from the Secret. */}}
{{- define "stockstream.authEnv" -}}
- name: Auth__Issuer
  value: {{ .Values.auth.issuer | quote }}
- name: Auth__Audience
  value: {{ .Values.auth.audience | quote }}
{{- if .Values.auth.authority }}
- name: Auth__Authority
  value: {{ .Values.auth.authority | quote }}
{{- else }}
- name: Auth__SigningKey
  valueFrom:
    secretKeyRef:
      name: {{ required "auth.existingSecret is required" .Values.auth.existingSecret }}
      key: {{ required "auth.signingKeySecretKey is required when auth.authority is empty" .Values.auth.signingKeySecretKey }}
{{- end }}
{{- end }}

{{/*
The pod template every component shares: non-root, read-only root file system with an emptyDir on /tmp,
probes on /alive (liveness, startup) and /health (readiness).
Call with (dict "root" $ "component" "gateway" "values" .Values.gateway "env" (list ...)).
*/}}
{{- define "stockstream.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "stockstream.selectorLabels" . | nindent 4 }}
  {{- if $root.Values.telemetry.prometheusScrape }}
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: "8080"
    prometheus.io/path: /metrics
  {{- end }}
spec:
  serviceAccountName: {{ .serviceAccountName | default (include "stockstream.serviceAccountName" $root) }}
  {{- /* Only the remediator talks to the Kubernetes API; every other pod gets no token. */}}
  automountServiceAccountToken: {{ .automountToken | default false }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
  containers:
    - name: {{ .component }}
      image: {{ include "stockstream.image" . | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      env:
        - name: ASPNETCORE_HTTP_PORTS
          value: "8080"
        - name: OTEL_SERVICE_NAME
          value: {{ .component | quote }}
        {{- with $root.Values.telemetry.otlpEndpoint }}
        - name: OTEL_EXPORTER_OTLP_ENDPOINT
          value: {{ . | quote }}
        {{- end }}
        {{- if not .withoutRedis }}
        {{- include "stockstream.redisEnv" $root | nindent 8 }}
        {{- end }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with .values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet:
          path: {{ $root.Values.probes.startup.path }}
          port: http
        periodSeconds: {{ $root.Values.probes.startup.periodSeconds }}
        failureThreshold: {{ $root.Values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet:
          path: {{ $root.Values.probes.liveness.path }}
          port: http
        periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet:
          path: {{ $root.Values.probes.readiness.path }}
          port: http
        periodSeconds: {{ $root.Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.readiness.failureThreshold }}
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpVolume.sizeLimit }}
  {{- with .values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .values.topologySpreadConstraints | nindent 4 }}
  {{- else }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "stockstream.selectorLabels" . | nindent 10 }}
  {{- end }}
{{- end }}
