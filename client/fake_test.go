package client

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
)

const (
	testToken = "s3cret"
	testSub   = "sub1"
	testRG    = "rg1"
	testWS    = "ws1"
)

// fakeOp ends after polls status reads: failing with fail, or running done.
type fakeOp struct {
	polls int
	fail  *api.ErrorDetail
	done  func()
}

// fake is a tiny in-memory kubeml server with the routes the client uses.
type fake struct {
	mu         sync.Mutex
	srv        *httptest.Server
	computes   map[string]*api.Compute // by name
	clusters   map[string]*api.ManagedCluster
	ops        map[string]*fakeOp
	requests   []string // "METHOD path?query"
	polls      int      // operation polls before an operation ends
	retryAfter string   // Retry-After of answers starting or polling an operation
	pageSize   int
	puts       []api.Compute // the bodies of compute PUTs, dry runs too
}

func newFake(t *testing.T) *fake {
	f := &fake{computes: map[string]*api.Compute{}, clusters: map[string]*api.ManagedCluster{},
		ops: map[string]*fakeOp{}, polls: 2, retryAfter: "3", pageSize: 2}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a client of f whose waits are recorded, not slept.
func (f *fake) client(t *testing.T, waits *[]time.Duration) *Client {
	c, err := New(Config{Server: f.srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	}
	return c
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func replyErr(w http.ResponseWriter, status int, code, msg string, details ...api.ErrorDetail) {
	reply(w, status, api.ErrorResponse{Error: api.ErrorDetail{Code: code, Message: msg, Details: details}})
}

// startOp registers an operation and sets its headers on w.
func (f *fake) startOp(w http.ResponseWriter, r *http.Request, op *fakeOp) {
	id := strconv.Itoa(len(f.ops) + 1)
	f.ops[id] = op
	w.Header().Set("Azure-AsyncOperation", "http://"+r.Host+"/operations/"+id+"?api-version=2024-04-01")
	w.Header().Set("Retry-After", f.retryAfter)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		replyErr(w, 401, "AuthenticationFailed", "missing or wrong bearer token")
		return
	}
	if !api.SupportedAPIVersion(r.URL.Query().Get("api-version")) {
		replyErr(w, 400, "InvalidApiVersion", "unsupported api-version")
		return
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(p) == 2 && p[0] == "operations":
		f.serveOp(w, r, p[1])
	case len(p) >= 9 && p[5] == api.NamespaceML && p[8] == "computes":
		f.serveCompute(w, r, p[9:])
	case strings.Contains(r.URL.Path, "/managedClusters") || strings.Contains(r.URL.Path, "/locations/"):
		f.serveClusters(w, r, p)
	default:
		replyErr(w, 404, "NotFound", "no route "+r.URL.Path)
	}
}

func (f *fake) serveOp(w http.ResponseWriter, r *http.Request, id string) {
	op, ok := f.ops[id]
	if !ok {
		replyErr(w, 404, "OperationNotFound", "no operation "+id)
		return
	}
	res := api.Operation{ID: id, Status: api.StatusInProgress}
	switch {
	case op.polls > 1:
		op.polls--
		w.Header().Set("Retry-After", f.retryAfter)
	case op.fail != nil:
		res.Status, res.Error = api.StatusFailed, op.fail
	default:
		res.Status = api.StatusSucceeded
		if op.done != nil {
			op.done()
			op.done = nil
		}
	}
	reply(w, 200, res)
}

func (f *fake) serveCompute(w http.ResponseWriter, r *http.Request, rest []string) {
	if len(rest) == 0 { // list
		names := sortedKeys(f.computes)
		skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
		var pg api.ComputeList
		for i := skip; i < len(names) && i < skip+f.pageSize; i++ {
			pg.Value = append(pg.Value, *f.computes[names[i]])
		}
		if skip+f.pageSize < len(names) {
			pg.NextLink = fmt.Sprintf("http://%s%s?api-version=2024-04-01&$skip=%d", r.Host, r.URL.Path, skip+f.pageSize)
		}
		reply(w, 200, pg)
		return
	}
	name := rest[0]
	c, ok := f.computes[name]
	switch {
	case len(rest) == 2 && ok && rest[1] == "listKeys":
		reply(w, 200, api.ComputeSecrets{ComputeType: api.ComputeAKS, UserKubeConfig: "user-kubeconfig"})
	case len(rest) == 2 && ok && rest[1] == "listNodes":
		reply(w, 200, api.ComputeNodes{Nodes: []api.ComputeNode{{NodeID: "n1", NodeState: "idle"}}})
	case r.Method == http.MethodPut:
		f.putCompute(w, r, name, c)
	case !ok && r.Method == http.MethodDelete:
		w.WriteHeader(204)
	case !ok:
		replyErr(w, 404, "ResourceNotFound", "compute "+name+" not found")
	case r.Method == http.MethodGet:
		reply(w, 200, c)
	case r.Method == http.MethodDelete:
		c.Properties.ProvisioningState = api.StateDeleting
		f.startOp(w, r, &fakeOp{polls: f.polls, done: func() { delete(f.computes, name) }})
		w.Header().Set("Location", "http://"+r.Host+"/operations/x")
		w.WriteHeader(202)
	}
}

func (f *fake) putCompute(w http.ResponseWriter, r *http.Request, name string, old *api.Compute) {
	var c api.Compute
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		replyErr(w, 400, "BadRequest", err.Error())
		return
	}
	f.puts = append(f.puts, c)
	if f.preflight(w, r, &c) {
		return
	}
	if n := c.Properties.Properties; n != nil && n.AgentCount != nil && *n.AgentCount < 1 {
		replyErr(w, 400, "InvalidComputeConfiguration", "the compute has 2 problems",
			api.ErrorDetail{Code: "InvalidAgentCount", Message: "agentCount must be at least 1", Target: "properties.properties.agentCount"},
			api.ErrorDetail{Code: "InvalidVMSize", Message: "unknown VM size " + n.AgentVMSize})
		return
	}
	c.ID, c.Name, c.Type = api.ComputeID(testSub, testRG, testWS, name).String(), name, api.TypeCompute
	c.Properties.IsAttachedCompute = c.Properties.ResourceID != "" || c.Properties.ComputeType == api.ComputeKubernetes
	status, state := 201, api.StateCreating
	if old != nil {
		status, state = 200, api.StateUpdating
	}
	f.computes[name] = &c
	op := &fakeOp{polls: f.polls, done: func() { c.Properties.ProvisioningState = api.StateSucceeded }}
	if name == "doomed" {
		op.fail = &api.ErrorDetail{Code: "NotEnoughCores", Message: "The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12"}
		op.done = nil
	}
	c.Properties.ProvisioningState = state
	if name == "instant" { // answers at once, with no operation
		c.Properties.ProvisioningState = api.StateSucceeded
	} else {
		f.startOp(w, r, op)
	}
	reply(w, status, c)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// reqs is a copy of the requests seen so far.
func (f *fake) reqs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}
