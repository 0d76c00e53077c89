// Command goproxy is the plainest Go reverse proxy (net/http/httputil's
// ReverseProxy over a keep-alive Transport) to one backend: a floor for
// what any net/http-based router costs per request, to set kubeml's
// router against in bench/serving.sh.
//
//	goproxy -listen 127.0.0.1:8081 -backend 127.0.0.1:5001
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address")
	backend := flag.String("backend", "127.0.0.1:5001", "host:port")
	flag.Parse()
	target := &url.URL{Scheme: "http", Host: *backend}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintln(os.Stderr, "goproxy:", srv.ListenAndServe())
	os.Exit(1)
}
