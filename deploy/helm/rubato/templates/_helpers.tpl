{{/*
Names, labels and the few values derived from the config (ports, the image, which paths the chart
must mount itself). rubato's chart: written for rubato, keyed like grafana/tempo's single-binary chart.
*/}}

{{/* Chart name, as used in the selector labels. */}}
{{- define "rubato.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: the release name (release "tempo" keeps the service "tempo" that clients know). */}}
{{- define "rubato.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rubato.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rubato.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rubato.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rubato.labels" -}}
helm.sh/chart: {{ include "rubato.chart" . }}
{{ include "rubato.selectorLabels" . }}
app.kubernetes.io/version: {{ include "rubato.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "rubato.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rubato.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image tag without a digest suffix, for the version label. */}}
{{- define "rubato.imageTag" -}}
{{- regexReplaceAll "@sha.*" (toString (.Values.tempo.tag | default .Chart.AppVersion)) "" | trunc 63 -}}
{{- end -}}

{{- define "rubato.image" -}}
{{- $repo := .Values.tempo.repository -}}
{{- with .Values.tempo.registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- printf "%s:%s" $repo (toString (.Values.tempo.tag | default .Chart.AppVersion)) -}}
{{- end -}}

{{/* The port of a "host:port" endpoint; "" when the endpoint is not set. */}}
{{- define "rubato.endpointPort" -}}
{{- if . }}{{ regexSplit ":" (toString .) -1 | last }}{{ end -}}
{{- end -}}

{{- define "rubato.httpPort" -}}
{{- .Values.tempo.server.http_listen_port | default 3100 | int -}}
{{- end -}}

{{/* OTLP ports from tempo.receivers ("" when that protocol is off). */}}
{{- define "rubato.otlpGrpcPort" -}}
{{- $p := dig "otlp" "protocols" "grpc" "" (.Values.tempo.receivers | default dict) -}}
{{- if kindIs "map" $p }}{{ include "rubato.endpointPort" ($p.endpoint | default "0.0.0.0:4317") }}{{ end -}}
{{- end -}}

{{- define "rubato.otlpHttpPort" -}}
{{- $p := dig "otlp" "protocols" "http" "" (.Values.tempo.receivers | default dict) -}}
{{- if kindIs "map" $p }}{{ include "rubato.endpointPort" ($p.endpoint | default "0.0.0.0:4318") }}{{ end -}}
{{- end -}}

{{/* "true" when extraVolumeMounts already mounts the given path. */}}
{{- define "rubato.userMounts" -}}
{{- $path := index . 0 -}}
{{- range (index . 1) }}{{ if eq (trimSuffix "/" .mountPath) $path }}true{{ end }}{{ end -}}
{{- end -}}

{{/* "single" (one StatefulSet running -target=all) or "distributed" (one workload per -target). */}}
{{- define "rubato.mode" -}}
{{- $mode := .Values.mode | default "single" -}}
{{- if not (has $mode (list "single" "distributed")) -}}
{{- fail (printf "mode must be \"single\" or \"distributed\", not %q" $mode) -}}
{{- end -}}
{{- $mode -}}
{{- end -}}
