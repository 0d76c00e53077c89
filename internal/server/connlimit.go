package server

import (
	"net"
	"sync"
)

// limitPerClient caps the connections open from one client address: a
// connection over the cap is closed as soon as it is accepted.
func limitPerClient(ln net.Listener, max int) net.Listener {
	return &clientLimit{Listener: ln, max: max, open: map[string]int{}}
}

type clientLimit struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

func (l *clientLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			host = c.RemoteAddr().String()
		}
		l.mu.Lock()
		if l.open[host] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: sync.OnceFunc(func() { l.done(host) })}, nil
	}
}

func (l *clientLimit) done(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

// countedConn gives its place back when it closes.
type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
