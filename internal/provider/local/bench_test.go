package local_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
)

// BenchmarkLocalClusterVsBare creates a local DevTest cluster with kubeml
// and then starts the very same components by hand (same binaries, same
// arguments, same configs, everything at once, no checks), in the same
// run, and reports both and their ratio: time to control plane ready, to
// node Ready, to a pod from kubeml's image answering HTTP; and the RSS of
// the cluster's processes.
//
//	go test -run '^$' -bench LocalClusterVsBare -benchtime 1x ./internal/provider/local/
func BenchmarkLocalClusterVsBare(b *testing.B) {
	clustertest.RequireLocal(b, env)
	p, _ := env.Registry.Get("local")
	kubemlRun(b, p) // warm-up: page cache, image tarball
	var k, bare phases
	for range b.N {
		kr := kubemlRun(b, p)
		br := clustertest.BareRun(b, p, benchName)
		k, bare = k.add(kr), bare.add(phases{cp: br.CP, node: br.Node, pod: br.Pod})
	}
	n := float64(b.N)
	b.ReportMetric(k.cp/n, "kubeml-cp-s")
	b.ReportMetric(k.node/n, "kubeml-node-s")
	b.ReportMetric(k.pod/n, "kubeml-pod-s")
	b.ReportMetric(bare.cp/n, "bare-cp-s")
	b.ReportMetric(bare.node/n, "bare-node-s")
	b.ReportMetric(bare.pod/n, "bare-pod-s")
	b.ReportMetric(k.pod/bare.pod, "ratio-pod")
	b.ReportMetric(k.node/bare.node, "ratio-node")
	b.ReportMetric(k.rssMB/n, "kubeml-rss-MB")
	b.ReportMetric(k.rssPodsMB/n, "kubeml-rss-with-pod-MB")
}

type phases struct{ cp, node, pod, rssMB, rssPodsMB float64 }

func (a phases) add(b phases) phases {
	return phases{a.cp + b.cp, a.node + b.node, a.pod + b.pod, a.rssMB + b.rssMB, a.rssPodsMB + b.rssPodsMB}
}

const benchName = "bench"

// kubemlRun times Create and a first pod, measures the daemons' RSS and
// deletes the cluster.
func kubemlRun(b *testing.B, p provider.Provider) phases {
	ctx := context.Background()
	var r phases
	start := time.Now()
	c, err := p.Create(ctx, provider.Spec{Name: benchName, AgentCount: 1}, func(s string) {
		if s == "starting the nodes" {
			r.cp = time.Since(start).Seconds()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	r.node = time.Since(start).Seconds()
	_, cs, err := clustertest.Connect(ctx, p, benchName)
	if err != nil {
		b.Fatal(err)
	}
	clustertest.Answer(b, cs, c.KubemlImage)
	r.pod = time.Since(start).Seconds()
	dir := filepath.Join(env.Root, "local", benchName)
	var pids []int
	for _, d := range clustertest.Daemons {
		pid, ok := proc.Running(filepath.Join(dir, "run", d+".pid"))
		if !ok {
			b.Fatalf("%s is not running", d)
		}
		pids = append(pids, pid)
	}
	r.rssMB = clustertest.RSSMB(pids)
	r.rssPodsMB = clustertest.RSSMB(append(pids, proc.Matching(clustertest.ContainerdSocket(b, dir))...)) + clustertest.PodRSS(dir)
	b.Logf("kubeml: control plane %.2fs, node Ready %.2fs, pod answering %.2fs; RSS %.0f MB (daemons), %.0f MB with the pod",
		r.cp, r.node, r.pod, r.rssMB, r.rssPodsMB)
	if err := p.Delete(ctx, benchName, nil); err != nil {
		b.Fatal(err)
	}
	return r
}
