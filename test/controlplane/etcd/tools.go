//go:build tools

// Package tools pins the etcd server this wrapper module builds.
//
// The binary's main package is the module root go.etcd.io/etcd/server/v3, which
// cannot be imported, so it is recorded with a `tool` directive in go.mod. This
// file blank-imports its library entry point (etcdmain) so that `go mod tidy`
// keeps the dependency graph even with a toolchain that ignores `tool` lines.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
