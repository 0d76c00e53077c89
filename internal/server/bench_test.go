package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
)

// BenchmarkGetComputeAt500RPS offers GET compute at a fixed 500 req/s for
// 10 s over HTTPS with keep-alive on loopback and reports the latency
// percentiles (open loop: requests are sent on schedule, whatever the
// latency of earlier ones).
//
//	go test -run '^$' -bench GetComputeAt500RPS -benchtime 1x ./internal/server/
func BenchmarkGetComputeAt500RPS(b *testing.B) {
	clustertest.Require(b, env)
	s := newTestServer(b)
	ws := s.workspace("benchws")
	path := ws + "/computes/attached" + av
	seedCompute(b, s, ws)
	hs := httptest.NewUnstartedServer(s.srv.Handler())
	hs.StartTLS()
	defer hs.Close()
	client := hs.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	const rate, dur = 500, 10 * time.Second
	for range b.N {
		lat := make([]time.Duration, 0, rate*10)
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs int
		tick := time.NewTicker(time.Second / rate)
		end := time.Now().Add(dur)
		for now := range tick.C {
			if now.After(end) {
				break
			}
			wg.Add(1)
			go func(start time.Time) {
				defer wg.Done()
				req, _ := http.NewRequest("GET", hs.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+s.token)
				resp, err := client.Do(req)
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || resp.StatusCode != 200 {
					errs++
				} else {
					lat = append(lat, d)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
					resp.Body.Close()
				}
			}(time.Now())
		}
		tick.Stop()
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(len(lat))/dur.Seconds(), "ok-req/s")
		b.ReportMetric(float64(errs), "errors")
	}
}

// seedCompute records an attached compute on a simulated cluster made
// through the API, so GET has a realistic body.
func seedCompute(b *testing.B, s *testServer, ws string) {
	mcPath := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/benchmc"
	count := 1
	code, h, body := s.call("PUT", mcPath+av, api.ManagedCluster{Location: "simulated",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "pool", Count: &count, VMSize: "Standard_D3_v2"}}}})
	if code != 201 {
		b.Fatalf("cluster: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		b.Fatalf("cluster: %+v", op)
	}
	b.Cleanup(func() { // the detach ends before the cluster can go
		for _, path := range []string{ws + "/computes/attached" + av + "&underlyingResourceAction=Detach", mcPath + av} {
			if _, h, _ := s.call("DELETE", path, nil); h.Get("Azure-AsyncOperation") != "" {
				s.wait(h)
			}
		}
	})
	// DevTest: a production purpose needs 3 nodes and 12 vCPUs, which the
	// one-node cluster lacks (the preflight refuses it).
	c := api.Compute{Properties: api.ComputeProperties{ComputeType: "AKS", ResourceID: mcPath,
		Properties: &api.AKSProperties{ClusterPurpose: api.PurposeDevTest}}}
	code, h, body = s.call("PUT", ws+"/computes/attached"+av, c)
	if code != 201 {
		b.Fatalf("attach: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		b.Fatalf("attach: %+v", op)
	}
}

// BenchmarkIdleServerRSS starts `kubeml server` as a user would, lets it
// serve a few requests, waits, and reports its resident memory.
func BenchmarkIdleServerRSS(b *testing.B) {
	clustertest.Require(b, env)
	for range b.N {
		p := startServer(b, b.TempDir(), clustertest.FreeAddr(b))
		for range 50 {
			p.call("GET", wsPath("idle")+av, nil)
		}
		time.Sleep(3 * time.Second)
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				b.ReportMetric(kb/1024, "idle-RSS-MB")
			}
		}
		p.kill()
	}
}

// BenchmarkLocalComputeCreateVsBare times a DevTest compute on location
// local, from the PUT to Succeeded, against the same components started
// bare by hand in the same run (clustertest.BareRun), and reports the
// ratio to the bare node-Ready time.
//
//	go test -run '^$' -bench LocalComputeCreateVsBare -benchtime 1x ./internal/server/
func BenchmarkLocalComputeCreateVsBare(b *testing.B) {
	clustertest.RequireLocal(b, env)
	s := newTestServer(b)
	ws := s.workspace("createbench")
	local, _ := env.Registry.Get("local")
	var create, bare float64
	for i := range b.N {
		// Bare first: its throwaway cluster also warms the image cache.
		bare += clustertest.BareRun(b, local, "barebench").Node
		path := ws + "/computes/dev" + strconv.Itoa(i)
		start := time.Now()
		code, h, body := s.call("PUT", path+av, aks("DevTest", "local", 0, ""))
		if code != 201 {
			b.Fatalf("create: %d %s", code, body)
		}
		if op := s.wait(h); op.Status != "Succeeded" {
			b.Fatalf("create: %+v", op)
		}
		create += time.Since(start).Seconds()
		_, h, _ = s.call("DELETE", path+av+"&underlyingResourceAction=Delete", nil)
		s.wait(h)
	}
	n := float64(b.N)
	b.ReportMetric(create/n, "create-s")
	b.ReportMetric(bare/n, "bare-node-s")
	b.ReportMetric(create/bare, "ratio")
}
