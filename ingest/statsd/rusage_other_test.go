//go:build !linux

package statsd

import "syscall"

// rusageThread falls back to the whole process where RUSAGE_THREAD is missing.
const rusageThread = syscall.RUSAGE_SELF
