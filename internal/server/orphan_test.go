package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/attach"
)

// A server that stopped between claiming a cluster and recording the
// compute left its claim behind; a later attach takes it back instead of
// answering 409 "detach it first" for a compute that does not exist.
func TestAnOrphanedClaimIsTakenBack(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	ws := s.workspace("orphanws")
	cid := s.makeCluster("orphan", 1, "Standard_D3_v2")
	attachAs := func(name string) (int, http.Header, []byte) {
		return s.call("PUT", ws+"/computes/"+name+av, attachBody(cid, "DevTest"))
	}
	// The claim this server writes, learnt from a real attach ...
	code, h, body := attachAs("ghost")
	if code != http.StatusCreated {
		t.Fatalf("attach ghost: %d %s", code, body)
	}
	s.wait(h)
	cs := s.adminClient(cid)
	claim, err := attach.ReadAttachment(ctx, cs)
	if err != nil || claim == nil {
		t.Fatalf("attachment record: %+v, %v", claim, err)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/ghost"+av+"&underlyingResourceAction=Detach", nil)
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("detach ghost: %+v", op)
	}
	// ... written again as a crash would have left it: two minutes old,
	// for a compute the server never recorded.
	claim.Time = time.Now().Add(-2 * time.Minute)
	if err := attach.Claim(ctx, cs, *claim); err != nil {
		t.Fatal(err)
	}
	code, h, body = attachAs("real")
	if code != http.StatusCreated {
		t.Fatalf("attach over the orphaned claim: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("attach over the orphaned claim: %+v", op)
	}
	if cur, _ := attach.ReadAttachment(ctx, cs); cur == nil || cur.ComputeName != "real" {
		t.Errorf("the cluster's record after the attach: %+v", cur)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/real"+av+"&underlyingResourceAction=Detach", nil)
	s.wait(h)
}
