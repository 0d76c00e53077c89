// Command servingprof serves an ONNX model exactly as `kubeml serve-model`
// does (the same serving.NewHandler over onnx.Load, the same http.Server
// settings) and writes a CPU profile of it, for `go tool pprof`. It exists
// so that serve-model can be profiled without adding flags to the product.
// It stops, writing the profile, on SIGINT or SIGTERM.
//
//	servingprof -model M.onnx -listen 127.0.0.1:5001 -cpuprofile cpu.out [-memprofile mem.out]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

func main() {
	modelPath := flag.String("model", "", "ONNX model file")
	name := flag.String("name", "fashion", "model name")
	listen := flag.String("listen", "127.0.0.1:5001", "address")
	cpu := flag.String("cpuprofile", "", "CPU profile file")
	mem := flag.String("memprofile", "", "heap profile file (allocations), written on exit")
	flag.Parse()
	data, err := os.ReadFile(*modelPath)
	if err != nil {
		fail(err)
	}
	m, err := onnx.Load(data)
	if err != nil {
		fail(err)
	}
	h := serving.NewHandler(m, serving.Options{Name: *name, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = srv.Close()
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			fail(err)
		}
		runtime.GC()
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	fmt.Fprintln(os.Stderr, "servingprof: stopped")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "servingprof:", err)
	os.Exit(1)
}
