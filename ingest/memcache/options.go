package memcache

import (
	"fmt"
	"time"
)

// Defaults applied by Options.EnsureDefaults.
const (
	DefaultAddr       = "127.0.0.1:11211"
	DefaultMaxConns   = 1024 // memcached's default -c
	DefaultMaxLine    = 8192 // room for a multi-key get; memcached closes at 2048 for other commands
	DefaultMaxValue   = 1024 // a number never needs more; memcached's limit is 1 MiB
	DefaultUDPReaders = 1
	DefaultVersion    = "dev"
)

// Options configure a Server. The zero value is usable: NewServer calls
// EnsureDefaults.
type Options struct {
	// Addr is the host:port both the TCP listener and the UDP socket
	// bind. With port 0 the kernel picks a TCP port and the UDP socket
	// binds the same number.
	Addr string
	// MaxConns bounds open TCP connections; connections beyond it get
	// "ERROR Too many open connections" and are closed, as in memcached.
	MaxConns int
	// MaxLine bounds a command line, without its "\r\n". A longer line
	// is answered "CLIENT_ERROR line too long" and, because its end cannot
	// be found, the TCP connection is closed (memcached does the same).
	MaxLine int
	// MaxValue bounds the data block of set/add/replace. A larger block
	// is answered "SERVER_ERROR object too large for cache" and discarded.
	MaxValue int
	// UDPReaders is the number of goroutines reading the UDP socket.
	UDPReaders int
	// IdleTimeout closes TCP connections idle that long; 0 never does,
	// as memcached's default.
	IdleTimeout time.Duration
	// Version is reported by "version" as "VERSION ward-<Version>".
	Version string
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxLine == 0 {
		o.MaxLine = DefaultMaxLine
	}
	if o.MaxValue == 0 {
		o.MaxValue = DefaultMaxValue
	}
	if o.UDPReaders == 0 {
		o.UDPReaders = DefaultUDPReaders
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	return o
}

// minMaxLine lets every single-key command with a 250-byte key fit.
const minMaxLine = 512

// Validate reports settings that cannot work.
func (o *Options) Validate() error {
	switch {
	case o.MaxConns < 1:
		return fmt.Errorf("memcache: MaxConns %d: must be at least 1", o.MaxConns)
	case o.MaxLine < minMaxLine:
		return fmt.Errorf("memcache: MaxLine %d: must be at least %d", o.MaxLine, minMaxLine)
	case o.MaxValue < 1 || o.MaxValue > maxDataLen:
		return fmt.Errorf("memcache: MaxValue %d: must be between 1 and %d", o.MaxValue, maxDataLen)
	case o.UDPReaders < 1:
		return fmt.Errorf("memcache: UDPReaders %d: must be at least 1", o.UDPReaders)
	case o.IdleTimeout < 0:
		return fmt.Errorf("memcache: IdleTimeout %v: must not be negative", o.IdleTimeout)
	}
	for _, c := range []byte(o.Version) {
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("memcache: Version %q: must not contain spaces or control characters", o.Version)
		}
	}
	return nil
}
