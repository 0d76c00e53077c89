package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/server"
)

// runServer runs the server as `kubeml server` does (its own listener and
// http.Server) on a free loopback port, with plain HTTP.
func runServer(t *testing.T, change func(*server.Config)) string {
	t.Helper()
	clustertest.Require(t, env)
	cfg := server.Defaults(t.TempDir())
	cfg.Addr, cfg.Insecure = "127.0.0.1:0", true
	change(&cfg)
	srv, err := server.New(cfg, env.Registry, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	select {
	case a := <-addr:
		return a
	case err := <-done:
		t.Fatal(err)
	}
	return ""
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, os.ErrDeadlineExceeded))
}

func TestOneClientCannotHoldMoreThanItsShareOfConnections(t *testing.T) {
	addr := runServer(t, func(c *server.Config) { c.MaxConnsPerClient = 4 })
	var conns []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	closed := 0
	for _, c := range conns {
		if closedWithin(c, 500*time.Millisecond) {
			closed++
		}
	}
	if closed != 4 {
		t.Errorf("the server closed %d of 8 connections from one client at once, want the 4 over its cap", closed)
	}
	for _, c := range conns {
		c.Close()
	}
	// Places are given back: a new connection is served.
	time.Sleep(100 * time.Millisecond)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the connections closed: %v, %v", resp, err)
	}
	resp.Body.Close()
}

func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	addr := runServer(t, func(c *server.Config) { c.IdleTimeout = server.Duration(300 * time.Millisecond) })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: kubeml\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v, %v", resp, err)
	}
	resp.Body.Close()
	if !closedWithin(c, 3*time.Second) {
		t.Error("a keep-alive connection idle for 3 s (idleTimeout 300ms) is still open")
	}
}
