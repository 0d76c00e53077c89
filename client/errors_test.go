package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
)

func TestErrorAnswersBecomeTypedErrors(t *testing.T) {
	long := strings.Repeat("é", 600)
	tests := map[string]struct {
		status int
		body   string
		check  func(error) bool
		want   []string // lines of Error()
	}{
		"a bad request lists the code, the message and every detail on its own line": {
			status: 400,
			body: `{"error":{"code":"InvalidComputeConfiguration","message":"the compute has 2 problems","details":[
				{"code":"InvalidAgentCount","message":"agentCount must be at least 1","target":"properties.agentCount"},
				{"code":"InvalidVMSize","message":"unknown VM size"}]}}`,
			check: IsBadRequest,
			want: []string{"InvalidComputeConfiguration: the compute has 2 problems",
				"  - InvalidAgentCount: agentCount must be at least 1 (target properties.agentCount)",
				"  - InvalidVMSize: unknown VM size"},
		},
		"a missing resource is not found": {
			status: 404, body: `{"error":{"code":"ResourceNotFound","message":"compute x not found"}}`,
			check: IsNotFound, want: []string{"ResourceNotFound: compute x not found"},
		},
		"a second attachment is a conflict": {
			status: 409, body: `{"error":{"code":"ClusterAlreadyAttached","message":"attached as ws2/aks"}}`,
			check: IsConflict, want: []string{"ClusterAlreadyAttached: attached as ws2/aks"},
		},
		"a wrong token is unauthorized": {
			status: 401, body: `{"error":{"code":"AuthenticationFailed","message":"bad token"}}`,
			check: IsUnauthorized, want: []string{"AuthenticationFailed: bad token"},
		},
		"an error without the ARM wrapper is still understood": {
			status: 404, body: `{"code":"ResourceNotFound","message":"no such workspace"}`,
			check: IsNotFound, want: []string{"ResourceNotFound: no such workspace"},
		},
		"a non-JSON body still says the status and the text": {
			status: 502, body: "upstream down\n",
			check: func(err error) bool { return StatusCode(err) == 502 },
			want:  []string{"502 Bad Gateway: upstream down"},
		},
		"a long non-JSON body is truncated on a rune boundary": {
			status: 500, body: long,
			check: func(err error) bool { return StatusCode(err) == 500 },
			want:  []string{"500 Internal Server Error: " + long[:maxErrorText] + "..."},
		},
		"an empty body says the status": {
			status: 503, check: func(err error) bool { return StatusCode(err) == 503 },
			want: []string{"503 Service Unavailable"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c, err := New(Config{Server: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(context.Background(), "GET", "/x", nil, nil, nil)
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, want status %d", resp, tc.status)
			}
			wrapped := fmt.Errorf("kubeml: %w", err)
			if !tc.check(wrapped) {
				t.Errorf("check failed for %#v", err)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Error() =\n%s\nwant\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestTypedErrorCarriesTheDetails(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	zero := 0
	_, err := c.BeginCreateOrUpdateCompute(context.Background(), api.ComputeID(testSub, testRG, testWS, "aks1"),
		api.Compute{Properties: api.ComputeProperties{ComputeType: api.ComputeAKS, Properties: &api.AKSProperties{AgentCount: &zero}}})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.StatusCode != 400 || e.Code != "InvalidComputeConfiguration" || len(e.Details) != 2 || e.Details[0].Target != "properties.properties.agentCount" {
		t.Errorf("error %#v", e)
	}
	if IsNotFound(err) || IsConflict(nil) || !IsBadRequest(err) {
		t.Error("helpers disagree with the status")
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	f := newFake(t)
	c, err := New(Config{Server: f.srv.URL, Token: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCompute(context.Background(), api.ComputeID(testSub, testRG, testWS, "aks1")); !IsUnauthorized(err) {
		t.Errorf("err = %v, want unauthorized", err)
	}
}
