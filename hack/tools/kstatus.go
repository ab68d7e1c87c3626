package main

import (
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type kstatusResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

// runKstatus computes kstatus for one object or every item of a List, exactly as
// status.Compute does for consumers (Flux's health checks, kpt, cli-utils appliers).
func runKstatus(r io.Reader) ([]kstatusResult, error) {
	raw, err := readAll(r, "object")
	if err != nil {
		return nil, err
	}
	objects, err := decodeObjects(raw)
	if err != nil {
		return nil, err
	}
	results := make([]kstatusResult, 0, len(objects))
	for _, u := range objects {
		res, err := status.Compute(u)
		if err != nil {
			return nil, fmt.Errorf("kstatus of %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		results = append(results, kstatusResult{
			Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(),
			Status: string(res.Status), Message: res.Message,
		})
	}
	return results, nil
}

// decodeObjects reads one object or a List (anything with `items`) the way client-go decodes
// unstructured JSON (integers as int64, which kstatus's generation checks require).
func decodeObjects(raw []byte) ([]*unstructured.Unstructured, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("input is not a JSON object: %w", err)
	}
	items, isList := top["items"]
	if !isList {
		u, err := decodeObject(raw)
		if err != nil {
			return nil, err
		}
		return []*unstructured.Unstructured{u}, nil
	}
	var rawItems []json.RawMessage
	if err := json.Unmarshal(items, &rawItems); err != nil {
		return nil, fmt.Errorf("items is not a JSON array: %w", err)
	}
	out := make([]*unstructured.Unstructured, 0, len(rawItems))
	for i, item := range rawItems {
		u, err := decodeObject(item)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func decodeObject(raw []byte) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object (apiVersion, kind): %w", err)
	}
	if u.IsList() {
		return nil, fmt.Errorf("a %s has no status of its own", u.GetKind())
	}
	return u, nil
}
