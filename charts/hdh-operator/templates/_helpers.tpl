{{/*
Names and labels shared by every template. Every object is named from the fullname, so two
releases never take the same cluster-scoped name and nothing is named after the release alone.
*/}}

{{/* The chart's name, overridable with nameOverride. */}}
{{- define "hdh-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
<release>-<name>, or the release name when it already contains the chart's name, or
fullnameOverride. At most 52 characters, so that suffixed names (-leader-election, ...) stay
within the 63 characters of a label value.
*/}}
{{- define "hdh-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "hdh-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hdh-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selects the operator's pods; never changes across upgrades (a Deployment's selector is immutable). */}}
{{- define "hdh-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hdh-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The standard labels, on every object the chart creates. */}}
{{- define "hdh-operator.labels" -}}
helm.sh/chart: {{ include "hdh-operator.chart" . }}
{{ include "hdh-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hdh-operator
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is given. The tag defaults to appVersion. */}}
{{- define "hdh-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
