//go:build !linux

package main

import (
	"net"
	"sync/atomic"
)

// readLoop reads datagrams one at a time until c is closed and adds their
// lines to lines.
func readLoop(c *net.UDPConn, lines *atomic.Int64) error {
	buf := make([]byte, 16384)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return nil // closed
		}
		lines.Add(countLines(buf[:n]))
	}
}

func setReadBuffer(c *net.UDPConn, size int) { c.SetReadBuffer(size) }
