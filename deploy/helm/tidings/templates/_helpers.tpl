{{/* Names and labels. */}}
{{- define "tidings.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidings.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tidings.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidings.labels" -}}
helm.sh/chart: {{ include "tidings.chart" . }}
app.kubernetes.io/name: {{ include "tidings.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tidings
{{- end -}}

{{/* Labels of one service: (dict "root" $ "name" "api"). */}}
{{- define "tidings.serviceLabels" -}}
{{ include "tidings.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "tidings.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tidings.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "tidings.serviceName" -}}
{{- printf "%s-%s" (include "tidings.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidings.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tidings.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The settings of one service: `defaults` with `services.<name>` merged over it, as YAML.
Use: $cfg := include "tidings.serviceConfig" (dict "root" $ "name" "api") | fromYaml
*/}}
{{- define "tidings.serviceConfig" -}}
{{- $own := index .root.Values.services .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $own)) -}}
{{- end -}}

{{/* The enabled services, in start order, as a list of names. */}}
{{- define "tidings.enabledServices" -}}
{{- range $name := list "storage" "notifier" "api" "websocket" -}}
{{- if (index $.Values.services $name).enabled }}{{ $name }} {{ end -}}
{{- end -}}
{{- end -}}

{{- define "tidings.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s-%s" $img.repository .name -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $repo }}{{ end -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}

{{- define "tidings.secretName" -}}
{{- printf "%s-secrets" (include "tidings.fullname" .) -}}
{{- end -}}

{{- define "tidings.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- $natsName := "nats" -}}
{{- if contains $natsName .Release.Name -}}
{{- printf "nats://%s:4222" .Release.Name -}}
{{- else -}}
{{- printf "nats://%s-nats:4222" .Release.Name -}}
{{- end -}}
{{- else -}}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/* True when storage uses the bundled PostgreSQL (no URL or Secret of the operator's). */}}
{{- define "tidings.bundledDatabase" -}}
{{- if and .Values.postgresql.enabled (not .Values.database.url) (not .Values.database.existingSecret) }}true{{ end -}}
{{- end -}}

{{/* The database URL when the chart builds it. The bundled PostgreSQL's URL carries no
password: libpq reads it from PGPASSWORD, set from that chart's Secret. */}}
{{- define "tidings.databaseUrl" -}}
{{- if .Values.database.url -}}
{{- .Values.database.url -}}
{{- else if include "tidings.bundledDatabase" . -}}
{{- $pg := .Values.postgresql.auth -}}
{{- printf "postgresql://%s@%s-postgresql:5432/%s" (urlquery $pg.username) .Release.Name $pg.database -}}
{{- end -}}
{{- end -}}

{{/* The env entries that give a container the database URL (and password). */}}
{{- define "tidings.databaseEnv" -}}
{{- if .Values.database.existingSecret -}}
- name: TIDINGS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- else if .Values.database.url -}}
- name: TIDINGS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tidings.secretName" . }}
      key: database-url
{{- else if include "tidings.bundledDatabase" . -}}
- name: TIDINGS_DATABASE_URL
  value: {{ include "tidings.databaseUrl" . | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Release.Name }}-postgresql
      key: password
{{- else -}}
{{- fail "set database.url, database.existingSecret or postgresql.enabled: storage needs PostgreSQL" -}}
{{- end -}}
{{- end -}}

{{/* The migration hook: before install/upgrade on an external database; after install
(the database is created with the release) and before upgrade on the bundled one. */}}
{{- define "tidings.migrationHook" -}}
{{- if include "tidings.bundledDatabase" . -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/* Environment of a service container. */}}
{{- define "tidings.env" -}}
{{- $root := .root -}}
- name: TIDINGS_NATS_URL
  value: {{ include "tidings.natsUrl" $root | quote }}
- name: TIDINGS_PORT
  value: {{ .cfg.port | quote }}
{{- if has .name (list "storage" "notifier") }}
- name: TIDINGS_HTTP_PORT
  value: {{ .cfg.port | quote }}
{{- end }}
{{- if eq .name "storage" }}
{{ include "tidings.databaseEnv" $root }}
- name: TIDINGS_MIGRATE_ON_START
  value: {{ ternary "false" "true" (and $root.Values.migration.enabled (eq (include "tidings.migrationHook" $root) "pre-install,pre-upgrade")) | quote }}
{{- if or $root.Values.messageEncryption.key $root.Values.messageEncryption.existingSecret }}
- name: TIDINGS_MESSAGE_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "tidings.secretName" $root) $root.Values.messageEncryption.existingSecret }}
      key: {{ ternary $root.Values.messageEncryption.existingSecretKey "message-encryption-key" (ne $root.Values.messageEncryption.existingSecret "") }}
{{- end }}
{{- end }}
{{- if eq .name "storage" }}
- name: TIDINGS_POOL_REFRESH_INTERVAL
  value: {{ $root.Values.pools.refreshInterval | toString | quote }}
- name: TIDINGS_EVENTS_MAX_AGE
  value: {{ $root.Values.events.maxAge | toString | quote }}
- name: TIDINGS_EVENTS_MAX_BYTES
  value: {{ $root.Values.events.maxBytes | int64 | toString | quote }}
{{- end }}
{{- if and $root.Values.pools.adminApi (has .name (list "api" "websocket")) }}
- name: TIDINGS_ADMIN_MODE
  value: "true"
- name: TIDINGS_POOLING
  value: "true"
{{- end }}
{{- if and $root.Values.policy (has .name (list "api" "websocket")) }}
- name: TIDINGS_POLICY_FILE
  value: /etc/tidings/policy/policy.json
{{- end }}
{{- if and (eq .name "notifier") $root.Values.smtp.host }}
{{ include "tidings.smtpEnv" $root }}
{{- end }}
{{- if $root.Values.tracing.otlpEndpoint }}
{{ include "tidings.tracingEnv" $root }}
{{- end }}
{{- range $key, $value := .cfg.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The notifier's SMTP settings; the password from the chart's Secret or the operator's. */}}
{{- define "tidings.smtpEnv" -}}
{{- $smtp := .Values.smtp -}}
- name: TIDINGS_SMTP_HOST
  value: {{ $smtp.host | quote }}
- name: TIDINGS_SMTP_PORT
  value: {{ $smtp.port | toString | quote }}
- name: TIDINGS_SMTP_SECURITY
  value: {{ $smtp.security | quote }}
- name: TIDINGS_SMTP_TIMEOUT
  value: {{ $smtp.timeout | toString | quote }}
{{- with $smtp.from }}
- name: TIDINGS_SMTP_SENDER
  value: {{ . | quote }}
{{- end }}
{{- with $smtp.username }}
- name: TIDINGS_SMTP_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if or $smtp.password $smtp.existingSecret }}
- name: TIDINGS_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "tidings.secretName" .) $smtp.existingSecret }}
      key: {{ ternary $smtp.existingSecretKey "smtp-password" (ne $smtp.existingSecret "") }}
{{- end }}
{{- end -}}

{{/* OpenTelemetry's own variables: tracing on, exporting to the collector over OTLP/HTTP. */}}
{{- define "tidings.tracingEnv" -}}
{{- $tracing := .Values.tracing -}}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $tracing.otlpEndpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $tracing.sampler | quote }}
{{- if ne (toString $tracing.samplerArg) "" }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $tracing.samplerArg | toString | quote }}
{{- end }}
{{- range $key, $value := $tracing.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}
