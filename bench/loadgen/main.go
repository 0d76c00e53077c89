// Command loadgen is a small closed-loop HTTP load generator for kubeml's
// benchmarks: N keep-alive connections, each sending one request at a time
// for a fixed duration (or until a request count), the same body every
// time. It prints req/s, latency percentiles and errors, and one
// machine-readable line:
//
//	RESULT name=... reqs=... errors=... rps=... p50_ms=... p90_ms=... p99_ms=... mean_ms=...
//
// It decodes nothing of the responses: bodies are read and discarded, only
// the status code is checked.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var (
		url      = flag.String("url", "", "request URL (required)")
		method   = flag.String("method", "", "HTTP method (default POST with -body, else GET)")
		bodyFile = flag.String("body", "", "file whose bytes are the request body")
		ctype    = flag.String("content-type", "application/json", "Content-Type of the body")
		conns    = flag.Int("c", 16, "connections (one request in flight on each)")
		duration = flag.Duration("d", 10*time.Second, "measured duration (0: use -n)")
		count    = flag.Int("n", 0, "total requests to measure (with -d 0)")
		warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before the measurement")
		timeout  = flag.Duration("timeout", 10*time.Second, "per-request timeout")
		name     = flag.String("name", "run", "label for the RESULT line")
		expect   = flag.Int("expect", 200, "status code counted as success")
		pidList  = flag.String("pids", "", "name=pid,...: report each process's CPU time (user+system) per measured request")
		hdrs     headers
	)
	flag.Var(&hdrs, "H", `request header "Name: value" (repeatable)`)
	flag.Parse()
	if *url == "" || *conns < 1 || (*duration <= 0 && *count <= 0) {
		fmt.Fprintln(os.Stderr, "loadgen: need -url, -c >= 1 and -d > 0 or -n > 0")
		os.Exit(2)
	}
	var body []byte
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		body = b
	}
	if *method == "" {
		*method = http.MethodGet
		if body != nil {
			*method = http.MethodPost
		}
	}
	h := http.Header{}
	for _, kv := range hdrs {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "loadgen: header %q: want Name: value\n", kv)
			os.Exit(2)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if body != nil && h.Get("Content-Type") == "" {
		h.Set("Content-Type", *ctype)
	}

	// One client per connection so that each worker keeps exactly one
	// keep-alive connection of its own.
	newClient := func() *http.Client {
		return &http.Client{Timeout: *timeout, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true,
			ForceAttemptHTTP2: false, ResponseHeaderTimeout: *timeout,
		}}
	}

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		remaining atomic.Int64
		mu        sync.Mutex
		all       []time.Duration
		errs      int64
		firstErr  string
		errKinds  = map[string]int{}
	)
	remaining.Store(int64(*count))
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			c := newClient()
			defer c.CloseIdleConnections()
			lat := make([]time.Duration, 0, 1<<14)
			var nerr int64
			kinds := map[string]int{}
			var first string
			for !stop.Load() {
				m := measuring.Load()
				if m && *duration <= 0 && remaining.Add(-1) < 0 {
					break
				}
				req, _ := http.NewRequestWithContext(context.Background(), *method, *url, bytes.NewReader(body))
				req.Header = h.Clone()
				start := time.Now()
				resp, err := c.Do(req)
				var msg string
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != *expect {
						msg = fmt.Sprintf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					msg = errKind(err)
				}
				d := time.Since(start)
				if !m {
					continue
				}
				if msg != "" {
					nerr++
					kinds[msg]++
					if first == "" {
						first = msg
					}
					if err != nil { // avoid a hot loop on refused connections
						time.Sleep(time.Millisecond)
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			all = append(all, lat...)
			errs += nerr
			for k, v := range kinds {
				errKinds[k] += v
			}
			if firstErr == "" {
				firstErr = first
			}
			mu.Unlock()
		})
	}
	if *warmup > 0 {
		time.Sleep(*warmup)
	}
	procs, err := parsePids(*pidList)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	// Its own CPU too: a proxy placed beside the load generator shares
	// its core, so what the generator costs tells whether it limits a run.
	procs = append(procs, proc{"lg", os.Getpid()})
	cpu0 := make([]float64, len(procs))
	for i, p := range procs {
		cpu0[i] = cpuSeconds(p.pid)
	}
	measuring.Store(true)
	start := time.Now()
	if *duration > 0 {
		time.Sleep(*duration)
		stop.Store(true)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuLine, cpuFields := "", ""
	for i, p := range procs {
		us := 0.0
		if len(all) > 0 {
			us = (cpuSeconds(p.pid) - cpu0[i]) * 1e6 / float64(len(all))
		}
		cpuLine += fmt.Sprintf("  %s %.1f", p.name, us)
		cpuFields += fmt.Sprintf(" cpu_us_%s=%.1f", p.name, us)
	}
	if *duration > 0 {
		elapsed = *duration // requests that finish after the stop are counted, the few ms after it are not
	}

	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i]) / 1e6
	}
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	mean := 0.0
	if len(all) > 0 {
		mean = float64(sum) / float64(len(all)) / 1e6
	}
	rps := float64(len(all)) / elapsed.Seconds()
	fmt.Printf("%s: %d ok, %d errors in %.2fs over %d connections\n", *name, len(all), errs, elapsed.Seconds(), *conns)
	fmt.Printf("  req/s %.0f   latency ms: p50 %.3f  p90 %.3f  p99 %.3f  mean %.3f  max %.3f\n",
		rps, pct(.50), pct(.90), pct(.99), mean, pct(1))
	if cpuLine != "" {
		fmt.Printf("  CPU us per request:%s\n", cpuLine)
	}
	if errs > 0 {
		keys := make([]string, 0, len(errKinds))
		for k := range errKinds {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Printf("  error %q x%d\n", k, errKinds[k])
		}
	}
	fmt.Printf("RESULT name=%s reqs=%d errors=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f%s\n",
		*name, len(all), errs, rps, pct(.50), pct(.90), pct(.99), mean, cpuFields)
	if len(all) == 0 {
		os.Exit(1)
	}
}

type proc struct {
	name string
	pid  int
}

func parsePids(s string) ([]proc, error) {
	var out []proc
	for kv := range strings.SplitSeq(s, ",") {
		if kv == "" {
			continue
		}
		name, pid, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("-pids %q: want name=pid,...", s)
		}
		out = append(out, proc{name, n})
	}
	return out, nil
}

// cpuSeconds is a process's user+system CPU time, all threads, from
// /proc/PID/stat (fields 14 and 15, in USER_HZ = 100 ticks per second
// on Linux); -1e9 when unreadable, so that the figure is visibly wrong.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1e9
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1e9
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1e9
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// errKind shortens a transport error to a stable category for counting.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	case strings.Contains(err.Error(), "EOF"):
		return "EOF"
	}
	return err.Error()
}
