package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

type sendCmd struct {
	Lines   []string `arg:"" optional:"" help:"statsd lines, e.g. 'shop.revenue:499|c'. Read from stdin when none are given."`
	Proto   string   `help:"Transport." enum:"udp,tcp,http" default:"udp"`
	Addr    string   `help:"statsd address for udp/tcp, or base URL of Ward's HTTP API for http." default:"127.0.0.1:8125"`
	Packet  int      `help:"Maximum UDP payload in bytes (lines are packed up to this size)." default:"1432"`
	Token   string   `help:"Bearer token for --proto http." env:"WARD_TOKEN"`
	Timeout duration `help:"Network timeout." default:"10s"`
	Quiet   bool     `short:"q" help:"Print nothing on success."`
	stdin   io.Reader
}

func (c *sendCmd) Run(ctx context.Context) error {
	lines := c.Lines
	if len(lines) == 0 {
		in := c.stdin
		if in == nil {
			in = os.Stdin
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("send: no lines given")
	}
	timeout := time.Duration(c.Timeout)
	var err error
	switch c.Proto {
	case "udp":
		err = sendUDP(c.Addr, lines, c.Packet, timeout)
	case "tcp":
		err = sendTCP(c.Addr, lines, timeout)
	case "http":
		var msg string
		msg, err = sendHTTP(ctx, c.Addr, c.Token, lines, timeout)
		if err == nil && !c.Quiet {
			fmt.Println(msg)
		}
		return err
	}
	if err == nil && !c.Quiet {
		fmt.Printf("sent %d lines over %s to %s\n", len(lines), c.Proto, c.Addr)
	}
	return err
}

// sendUDP packs lines into datagrams no larger than max bytes, as statsd clients do.
func sendUDP(addr string, lines []string, max int, timeout time.Duration) error {
	conn, err := net.DialTimeout("udp", addr, timeout)
	if err != nil {
		return fmt.Errorf("dial udp %s: %w", addr, err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		_, err := conn.Write(buf.Bytes())
		buf.Reset()
		if err != nil {
			return fmt.Errorf("write udp %s: %w", addr, err)
		}
		return nil
	}
	for _, l := range lines {
		if buf.Len() > 0 && buf.Len()+1+len(l) > max {
			if err := flush(); err != nil {
				return err
			}
		}
		if buf.Len() > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(l)
	}
	return flush()
}

func sendTCP(addr string, lines []string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	w := bufio.NewWriter(conn)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write tcp %s: %w", addr, err)
	}
	return nil
}

func sendHTTP(ctx context.Context, base, token string, lines []string, timeout time.Duration) (string, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	url := strings.TrimRight(base, "/") + "/api/v1/statsd"
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		return "", fmt.Errorf("build request for %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "text/plain")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read response of %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("post %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		return pretty.String(), nil
	}
	return string(body), nil
}
