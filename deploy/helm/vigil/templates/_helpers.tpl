{{/*
Names and labels. The object names are fixed (vigil-operator, vigil-agent): Vigil is installed
once per cluster, the agent finds the bundle (vigil-bundle, vigil-bundle-credentials) by name,
and the operator names its Service in the audit certificate.
*/}}

{{- define "vigil.name" -}}vigil{{- end -}}
{{- define "vigil.operatorName" -}}vigil-operator{{- end -}}
{{- define "vigil.agentName" -}}vigil-agent{{- end -}}

{{/* Selector labels; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every object's labels; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "vigil.labels" -}}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/part-of: vigil
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* registry/repository:tag; call with (dict "ctx" $ "image" .Values.operator.image). */}}
{{- define "vigil.image" -}}
{{- $tag := .image.tag | default .ctx.Chart.AppVersion -}}
{{- if .image.registry -}}
{{ .image.registry }}/{{ .image.repository }}:{{ $tag }}
{{- else -}}
{{ .image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}
