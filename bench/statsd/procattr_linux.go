package main

import "syscall"

// childAttr makes the kernel kill a server if the driver dies without
// stopping it, so that no server outlives an interrupted run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
