//go:build !linux

package main

import "syscall"

// childAttr has nothing to add outside Linux: servers are stopped by the
// driver only.
func childAttr() *syscall.SysProcAttr { return nil }
