package router

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRouterOverhead sends the same scoring request (a 784-float
// row, one at a time) straight to a loopback pod and through the router's
// HTTP listener to it, alternating, and reports the mean of each, their
// difference and the difference of their medians (ns/op is one of each).
func BenchmarkRouterOverhead(b *testing.B) {
	answer := []byte(`{"result":[0.1,0.2,0.7]}`)
	pod := backend(b, "pod", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	r := New(Config{Log: slog.New(slog.DiscardHandler)})
	v := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", v)
	sr.MaxConcurrentRequestsPerContainer = 64
	r.table.setRouting("s", sr)
	setBackends(b, r, v, addr(pod))
	routerURL := listen(b, r)

	var row strings.Builder
	row.WriteString(`{"data":[[`)
	for i := range 784 {
		if i > 0 {
			row.WriteByte(',')
		}
		row.WriteString(strconv.FormatFloat(float64(i%255)/255, 'f', 4, 64))
	}
	row.WriteString(`]]}`)
	body := []byte(row.String())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer client.CloseIdleConnections()
	call := func(url string) time.Duration {
		start := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST %s = %d", url, resp.StatusCode)
		}
		return time.Since(start)
	}
	direct, routed := pod.URL+"/score", routerURL+"/api/v1/service/iris/score"
	for range 50 { // warm the connections up
		call(direct)
		call(routed)
	}
	var d, rt []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		d = append(d, call(direct))
		rt = append(rt, call(routed))
	}
	mean := func(x []time.Duration) float64 {
		var s time.Duration
		for _, v := range x {
			s += v
		}
		return float64(s) / float64(len(x))
	}
	median := func(x []time.Duration) float64 {
		slices.Sort(x)
		return float64(x[len(x)/2])
	}
	b.ReportMetric(mean(d), "direct-ns/op")
	b.ReportMetric(mean(rt), "router-ns/op")
	b.ReportMetric(mean(rt)-mean(d), "overhead-ns/op")
	b.ReportMetric(median(rt)-median(d), "p50-overhead-ns")
}
