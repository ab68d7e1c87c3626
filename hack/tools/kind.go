package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

type kindNode struct {
	Role   string            `json:"role"`
	Labels map[string]string `json:"labels"`
}

type kindSummary struct {
	Name  string     `json:"name"`
	Nodes []kindNode `json:"nodes"`
}

// runKindConfig decodes a kind Cluster config as kind does (sigs.k8s.io/kind
// pkg/internal/apis/config/encoding Parse: apiVersion and kind first, then a strict YAML decode
// into the v1alpha4 types where an unknown field is an error, then kind's defaults).
func runKindConfig(path string) (*kindSummary, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the kind config: %w", err)
	}
	var tm struct {
		Kind       string `yaml:"kind,omitempty"`
		APIVersion string `yaml:"apiVersion,omitempty"`
	}
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("could not determine kind / apiVersion for config: %w", err)
	}
	if tm.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("unknown apiVersion: %s", tm.APIVersion)
	}
	if tm.Kind != "Cluster" {
		return nil, fmt.Errorf("unknown kind %s for apiVersion: %s", tm.Kind, tm.APIVersion)
	}
	cfg := &v1alpha4.Cluster{}
	d := yaml.NewDecoder(bytes.NewReader(raw))
	d.KnownFields(true)
	if err := d.Decode(cfg); err != nil {
		return nil, fmt.Errorf("unable to decode config: %w", err)
	}
	v1alpha4.SetDefaultsCluster(cfg)
	if err := validateNodes(cfg); err != nil {
		return nil, err
	}
	summary := &kindSummary{Name: cfg.Name, Nodes: make([]kindNode, 0, len(cfg.Nodes))}
	for _, n := range cfg.Nodes {
		labels := n.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		summary.Nodes = append(summary.Nodes, kindNode{Role: string(n.Role), Labels: labels})
	}
	return summary, nil
}

// validateNodes holds the node checks of kind's config validation (pkg/internal/apis/config
// validate.go), with its messages: a known role and at least one control plane.
func validateNodes(cfg *v1alpha4.Cluster) error {
	controlPlanes := 0
	var bad []string
	for i, n := range cfg.Nodes {
		switch n.Role {
		case v1alpha4.ControlPlaneRole:
			controlPlanes++
		case v1alpha4.WorkerRole:
		default:
			bad = append(bad, fmt.Sprintf("nodes[%d]: %q is not a valid node role", i, n.Role))
		}
	}
	if controlPlanes == 0 {
		bad = append(bad, fmt.Sprintf("must have at least one %s node", v1alpha4.ControlPlaneRole))
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid kind config: %s", strings.Join(bad, "; "))
	}
	return nil
}
