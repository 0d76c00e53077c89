// Command crashprobe repeats an outside probe's crash trials against a
// real `kubeml server` on loopback: for each of create, delete, attach and
// detach it starts the operation, kills the server with SIGKILL at a
// random moment, starts it again, and checks that the operation
// converged and that nothing was left behind (a cluster without its
// record, an attachment record without its compute). It prints a line per
// trial and the counts; it is bounded (trials, timeouts) and talks only to
// 127.0.0.1.
//
//	CGO_ENABLED=0 go build -o bin/ ./cmd/... && go run ./bench/crashprobe -kubeml bin/kubeml -trials 10
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

func main() {
	bin := flag.String("kubeml", "bin/kubeml", "the kubeml binary to run as the server")
	trials := flag.Int("trials", 10, "trials of each operation")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the kill moments")
	flag.Parse()
	if err := run(*bin, *trials, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "crashprobe:", err)
		os.Exit(1)
	}
}

// tally counts one operation's trials.
type tally struct{ converged, unrecorded, failed, leftovers int }

func run(bin string, trials int, seed uint64) error {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "kmlprobe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	p := &probe{bin: abs, data: data, addr: freeAddr(), rnd: rand.New(rand.NewPCG(seed, 1))}
	if err := p.start(); err != nil {
		return err
	}
	defer p.stop()
	fmt.Printf("seed %d, %d trials each, server %s, data %s\n", seed, trials, p.addr, data)
	ctx := context.Background()
	if err := p.setup(ctx); err != nil {
		return err
	}
	order := []string{"create", "delete", "attach", "detach"}
	counts := map[string]*tally{}
	for _, op := range order {
		counts[op] = &tally{}
		for i := range trials {
			res, err := p.trial(ctx, op, i)
			if err != nil {
				return fmt.Errorf("%s trial %d: %w", op, i, err)
			}
			t := counts[op]
			switch res.outcome {
			case converged:
				t.converged++
			case unrecorded:
				t.unrecorded++
			default:
				t.failed++
			}
			t.leftovers += res.leftovers
			fmt.Printf("%-6s %2d  killed after %-6s %-10s leftovers %d  %s\n", op, i, res.killedAfter.Round(time.Millisecond), res.outcome, res.leftovers, res.detail)
		}
	}
	if err := p.teardown(ctx); err != nil {
		return err
	}
	fmt.Println()
	bad := 0
	for _, op := range order {
		t := counts[op]
		fmt.Printf("%-6s converged %d/%d (never recorded %d), not converged %d, leftovers %d\n",
			op, t.converged+t.unrecorded, trials, t.unrecorded, t.failed, t.leftovers)
		bad += t.failed + t.leftovers
	}
	left, err := p.orphanClusters(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("after clean-up: %d cluster state dirs without a managed cluster\n", left)
	if bad+left > 0 {
		return errors.New("some trials did not converge or left something behind")
	}
	return nil
}

// Outcomes of a trial.
const (
	converged  = "converged"
	unrecorded = "unrecorded" // killed before the server recorded the request
	notDone    = "FAILED"
)

type result struct {
	outcome     string
	killedAfter time.Duration
	leftovers   int
	detail      string
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:8499"
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond every 200 ms for up to d.
func waitFor(d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newClient is a client of the probe's server.
func (p *probe) newClient() (*client.Client, error) {
	cfg, err := client.LoadConfig(client.Config{Server: "https://" + p.addr}, nil, p.data)
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

func computeID(ws api.ResourceID, name string) api.ResourceID {
	return api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name)
}
