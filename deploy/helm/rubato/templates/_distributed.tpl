{{/*
Helpers of the distributed mode (`mode: distributed`): one workload per Tempo `-target`, all running
the same image and the same config file. Kept apart from _helpers.tpl so the single-binary templates
read as before.
*/}}

{{/* The components, in the order they are rendered; metrics-generator only when it is enabled. */}}
{{- define "rubato.components" -}}
{{- $c := list "distributor" "ingester" "querier" "query-frontend" "compactor" -}}
{{- if .Values.tempo.metricsGenerator.enabled }}{{ $c = append $c "metrics-generator" }}{{ end -}}
{{- join " " $c -}}
{{- end -}}

{{/* The values block of a component: `query-frontend` → .Values.queryFrontend. */}}
{{- define "rubato.componentValuesKey" -}}
{{- replace "-" "_" . | camelcase | untitle -}}
{{- end -}}

{{- define "rubato.componentName" -}}
{{- printf "%s-%s" (include "rubato.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rubato.componentSelectorLabels" -}}
{{ include "rubato.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rubato.componentLabels" -}}
{{ include "rubato.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Internal gRPC port (Tempo's server.grpc_listen_port): ring traffic and querier ↔ frontend. */}}
{{- define "rubato.grpcPort" -}}
{{- .Values.tempo.server.grpc_listen_port | default 9095 | int -}}
{{- end -}}

{{/* The etcd client endpoints the ring uses: the embedded members, or etcd.endpoints. */}}
{{- define "rubato.etcdEndpoints" -}}
{{- $eps := list -}}
{{- if .Values.etcd.embedded.enabled -}}
{{- $name := printf "%s-etcd" (include "rubato.fullname" .) -}}
{{- range $i := until (int .Values.etcd.embedded.replicas) -}}
{{- $eps = append $eps (printf "%s-%d.%s.%s.svc:%d" $name $i $name $.Release.Namespace (int $.Values.etcd.embedded.clientPort)) -}}
{{- end -}}
{{- else -}}
{{- $eps = .Values.etcd.endpoints | default list -}}
{{- end -}}
{{- toJson $eps -}}
{{- end -}}

{{/*
Refuses a distributed render that could not work: the blocks must be in a bucket every component
reads (a local folder is one pod's own), and the ring needs an etcd.
*/}}
{{- define "rubato.validateDistributed" -}}
{{- $backend := dig "trace" "backend" "local" (.Values.tempo.storage | default dict) -}}
{{- if ne $backend "s3" -}}
{{- fail (printf "mode: distributed needs shared object storage: set tempo.storage.trace.backend to s3 (and tempo.storage.trace.s3.bucket); it is %q, a folder that only one pod can see" $backend) -}}
{{- end -}}
{{- if not (dig "trace" "s3" "bucket" "" .Values.tempo.storage) -}}
{{- fail "mode: distributed needs tempo.storage.trace.s3.bucket: the bucket every component shares" -}}
{{- end -}}
{{- if eq (include "rubato.etcdEndpoints" . | fromJsonArray | len) 0 -}}
{{- fail "mode: distributed keeps the ingester ring in etcd: set etcd.endpoints (an existing etcd) or etcd.embedded.enabled=true" -}}
{{- end -}}
{{- if lt (int .Values.ingester.replicas) (int .Values.ring.replicationFactor) -}}
{{- fail (printf "ingester.replicas (%d) is below ring.replicationFactor (%d): writes could never reach a quorum" (int .Values.ingester.replicas) (int .Values.ring.replicationFactor)) -}}
{{- end -}}
{{- end -}}

{{/*
What the distributed mode adds to the config file, with Tempo's keys: the ring in etcd for ingesters,
distributors, compactors and generators, the replication factor, the internal gRPC port, and where the
queriers find the frontend. The `config` value is rendered over it, so a key set there wins.
*/}}
{{- define "rubato.distributedConfig" -}}
{{- $kv := dict "store" "etcd" "prefix" .Values.ring.kvstorePrefix "etcd" (dict "endpoints" (include "rubato.etcdEndpoints" . | fromJsonArray) "dial_timeout" .Values.etcd.dialTimeout) -}}
server:
  grpc_listen_port: {{ include "rubato.grpcPort" . }}
ingester:
  lifecycler:
    ring:
      kvstore:
        {{- toYaml $kv | nindent 8 }}
      replication_factor: {{ .Values.ring.replicationFactor | int }}
      heartbeat_timeout: {{ .Values.ring.heartbeatTimeout }}
    num_tokens: {{ .Values.ring.numTokens | int }}
    heartbeat_period: {{ .Values.ring.heartbeatPeriod }}
distributor:
  ring:
    kvstore:
      {{- toYaml $kv | nindent 6 }}
compactor:
  ring:
    kvstore:
      {{- toYaml $kv | nindent 6 }}
querier:
  frontend_worker:
    frontend_address: {{ printf "%s.%s.svc:%s" (include "rubato.componentName" (dict "ctx" . "component" "query-frontend-discovery")) .Release.Namespace (include "rubato.grpcPort" .) }}
{{- if .Values.tempo.metricsGenerator.enabled }}
metrics_generator:
  ring:
    kvstore:
      {{- toYaml $kv | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Container ports of a component: every one serves HTTP (API, /metrics) and internal gRPC. */}}
{{- define "rubato.componentPorts" -}}
{{- $ctx := .ctx -}}
- name: http-metrics
  containerPort: {{ include "rubato.httpPort" $ctx }}
  protocol: TCP
- name: grpc
  containerPort: {{ include "rubato.grpcPort" $ctx }}
  protocol: TCP
{{- if eq .component "distributor" }}
{{- with include "rubato.otlpGrpcPort" $ctx }}
- name: otlp-grpc
  containerPort: {{ . }}
  protocol: TCP
{{- end }}
{{- with include "rubato.otlpHttpPort" $ctx }}
- name: otlp-http
  containerPort: {{ . }}
  protocol: TCP
{{- end }}
{{- end }}
{{- end -}}

{{/* A probe from tempo.*Probe with its port pointed at this component's HTTP port. */}}
{{- define "rubato.componentProbe" -}}
{{- $p := deepCopy .probe -}}
{{- if hasKey $p "httpGet" }}{{ $_ := set $p.httpGet "port" "http-metrics" }}{{ end -}}
{{- toYaml $p -}}
{{- end -}}

{{/*
The pod template of a component: the single-binary pod's container (image, security, env, config
mount) with `-target=<component>`, and the component's own scheduling and resources.
Arguments: ctx (the root context), component, values (its values block).
*/}}
{{- define "rubato.componentPodTemplate" -}}
{{- $ctx := .ctx -}}
{{- $v := .values -}}
{{- $args := merge (deepCopy ($v.extraArgs | default dict)) (deepCopy ($ctx.Values.tempo.extraArgs | default dict)) -}}
{{- $_ := unset $args "target" -}}
{{- $mounts := $ctx.Values.tempo.extraVolumeMounts | default list -}}
{{- $userVarTempo := include "rubato.userMounts" (list "/var/tempo" $mounts) -}}
{{- $userTmp := include "rubato.userMounts" (list "/tmp" $mounts) -}}
{{- $claim := and (eq .component "ingester") $v.persistence.enabled -}}
metadata:
  labels:
    {{- include "rubato.componentSelectorLabels" . | nindent 4 }}
    {{- with $ctx.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    {{- with $ctx.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "rubato.serviceAccountName" $ctx }}
  automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountServiceAccountToken }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds | default $ctx.Values.terminationGracePeriodSeconds }}
  {{- with ($v.priorityClassName | default $ctx.Values.priorityClassName) }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $ctx.Values.tempo.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  {{- with $ctx.Values.hostAliases }}
  hostAliases:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "rubato.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.tempo.pullPolicy }}
      args:
        - -config.file=/conf/tempo.yaml
        - -target={{ .component }}
        {{- range $key, $value := $args }}
        - {{ printf "-%s%s" $key (ternary "" (printf "=%v" $value) (kindIs "invalid" $value)) | quote }}
        {{- end }}
      ports:
        {{- include "rubato.componentPorts" . | nindent 8 }}
      {{- with $ctx.Values.tempo.livenessProbe }}
      livenessProbe:
        {{- include "rubato.componentProbe" (dict "probe" .) | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.tempo.readinessProbe }}
      readinessProbe:
        {{- include "rubato.componentProbe" (dict "probe" .) | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml ($v.resources | default dict) | nindent 8 }}
      {{- with $ctx.Values.tempo.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $env := concat ($ctx.Values.tempo.extraEnv | default list) ($v.extraEnv | default list) }}
      {{- with $env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.tempo.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tempo-conf
          mountPath: /conf
          readOnly: true
        {{- if not $userVarTempo }}
        - name: storage
          mountPath: /var/tempo
        {{- end }}
        {{- if not $userTmp }}
        - name: tmp
          mountPath: /tmp
        {{- end }}
        {{- with $mounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  {{- with ($v.nodeSelector | default $ctx.Values.nodeSelector) }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with ($v.affinity | default $ctx.Values.affinity) }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with ($v.tolerations | default $ctx.Values.tolerations) }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $spread := $v.topologySpreadConstraints | default list }}
  {{- if and (eq .component "ingester") $v.zoneSpread.enabled }}
  {{- $spread = append $spread (dict "maxSkew" ($v.zoneSpread.maxSkew | int) "topologyKey" $v.zoneSpread.topologyKey "whenUnsatisfiable" $v.zoneSpread.whenUnsatisfiable "labelSelector" (dict "matchLabels" (include "rubato.componentSelectorLabels" . | fromYaml))) }}
  {{- end }}
  {{- with $spread }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumes:
    - name: tempo-conf
      configMap:
        name: {{ include "rubato.fullname" $ctx }}
    {{- if and (not $userVarTempo) (not $claim) }}
    - name: storage
      {{- with $ctx.Values.emptyDir.varTempoSizeLimit }}
      emptyDir:
        sizeLimit: {{ . }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    {{- if not $userTmp }}
    - name: tmp
      {{- with $ctx.Values.emptyDir.tmpSizeLimit }}
      emptyDir:
        sizeLimit: {{ . }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    {{- with $ctx.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
