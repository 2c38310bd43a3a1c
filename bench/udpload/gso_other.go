//go:build !linux

package main

import (
	"errors"
	"net"
)

// setGSO fails: UDP_SEGMENT is Linux's.
func setGSO(*net.UDPConn, int) error { return errors.New("UDP GSO needs Linux") }
