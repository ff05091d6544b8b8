//go:build !linux

package main

import "github.com/rogpeppe/go-internal/testscript"

// ptyrun needs Linux's pseudo-terminals; elsewhere scripts guard it with [linux].
func cmdPtyRun(ts *testscript.TestScript, neg bool, args []string) {
	ts.Skip("ptyrun: pseudo-terminals are opened the Linux way only")
}
