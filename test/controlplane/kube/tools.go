//go:build tools

// Package tools pins the control-plane binaries this wrapper module builds.
//
// The binaries themselves are main packages (k8s.io/kubernetes/cmd/kube-apiserver,
// kube-controller-manager and k8s.io/kubernetes/cmd/kubectl) which cannot be imported, so they are
// recorded with `tool` directives in go.mod. This file blank-imports their
// library entry points so that `go mod tidy` keeps the full dependency graph
// even with an older toolchain that ignores `tool` lines.
package tools

import (
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)
