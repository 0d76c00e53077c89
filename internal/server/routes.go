package server

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
)

// route is a parsed ARM request path.
type route struct {
	sub, rg, ns, typ, name, child, childName, action string
	grand, grandName                                 string // e.g. models/m/versions/1
	location, locAction                              string
}

// parseARM splits an ARM path case-insensitively; ok is false when the
// path is none of kubeml's.
func parseARM(path string) (route, bool) {
	p := strings.Split(strings.Trim(path, "/"), "/")
	var rt route
	if len(p) < 2 || !strings.EqualFold(p[0], "subscriptions") || p[1] == "" {
		return rt, false
	}
	rt.sub, p = p[1], p[2:]
	if len(p) >= 2 && strings.EqualFold(p[0], "resourceGroups") && p[1] != "" {
		rt.rg, p = p[1], p[2:]
	}
	if len(p) < 3 || !strings.EqualFold(p[0], "providers") {
		return rt, false
	}
	rt.ns, rt.typ, p = p[1], p[2], p[3:]
	if strings.EqualFold(rt.typ, "locations") && rt.rg == "" && len(p) == 2 {
		rt.location, rt.locAction = p[0], p[1]
		return rt, true
	}
	if len(p) >= 1 {
		rt.name, p = p[0], p[1:]
	}
	switch len(p) {
	case 0:
	case 1:
		rt.action = p[0]
	case 2:
		rt.child, rt.childName = p[0], p[1]
	case 3:
		rt.child, rt.childName, rt.action = p[0], p[1], p[2]
	case 4:
		rt.child, rt.childName, rt.grand, rt.grandName = p[0], p[1], p[2], p[3]
	case 5:
		rt.child, rt.childName, rt.grand, rt.grandName, rt.action = p[0], p[1], p[2], p[3], p[4]
	default:
		return rt, false
	}
	for _, s := range []string{rt.name, rt.childName, rt.grandName} {
		if strings.ContainsAny(s, " \t\n%?#") {
			return rt, false
		}
	}
	return rt, true
}

func (rt route) is(ns, typ string) bool {
	return strings.EqualFold(rt.ns, ns) && strings.EqualFold(rt.typ, typ)
}

// serveARM dispatches an authenticated ARM request.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request) {
	rt, ok := parseARM(r.URL.Path)
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("InvalidResourceType", "no kubeml resource at %s", r.URL.Path))
		return
	}
	if err := checkAPIVersion(r); err != nil {
		writeError(w, s.log, err)
		return
	}
	var err error
	switch {
	case rt.location != "" && rt.is(api.NamespaceAKS, "locations"):
		err = s.versions(w, r, rt)
	case rt.is(api.NamespaceAKS, "managedClusters"):
		err = s.managedClusters(w, r, rt)
	case rt.is(api.NamespaceML, "workspaces") && (strings.EqualFold(rt.child, "models") || strings.EqualFold(rt.action, "models") && rt.child == ""):
		err = s.models(w, r, rt)
	case rt.is(api.NamespaceML, "workspaces") && (strings.EqualFold(rt.child, "services") || strings.EqualFold(rt.action, "services") && rt.child == ""):
		err = s.webServices(w, r, rt)
	case rt.is(api.NamespaceML, "workspaces") && rt.grand != "":
		err = &fault.Error{Kind: fault.NotFound, ErrorDetail: errBody("InvalidResourceType", "no kubeml resource at %s", r.URL.Path).Error}
	case rt.is(api.NamespaceML, "workspaces") && rt.child == "" && rt.action == "":
		err = s.serveWorkspaces(w, r, rt)
	case rt.is(api.NamespaceML, "workspaces") && (strings.EqualFold(rt.child, "computes") || strings.EqualFold(rt.action, "computes")):
		err = s.computes(w, r, rt)
	default:
		err = &fault.Error{Kind: fault.NotFound, ErrorDetail: errBody("InvalidResourceType", "no kubeml resource at %s", r.URL.Path).Error}
	}
	if err != nil {
		writeError(w, s.log, err)
	}
}

func methodNotAllowed(r *http.Request) error {
	return &fault.Error{Kind: fault.NotAllowed, ErrorDetail: errBody("MethodNotAllowed", "%s is not supported here", r.Method).Error}
}

// accepted answers a request that started an operation, the ARM way.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, status int, opID string, body any) {
	if opID != "" {
		base := s.external
		v := r.URL.Query().Get("api-version")
		w.Header().Set("Azure-AsyncOperation", base+"/kubeml/operations/"+opID+"?api-version="+v)
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSeconds))
		if r.Method == http.MethodDelete {
			w.Header().Set("Location", base+"/kubeml/operationResults/"+opID+"?api-version="+v)
		}
	}
	writeJSON(w, status, body)
}

// externalURL is the configured external URL, or the scheme and addr
// the server listens on.
func externalURL(cfg Config, addr string) string {
	if cfg.ExternalURL != "" {
		return strings.TrimSuffix(cfg.ExternalURL, "/")
	}
	// A server listening on every address is reached by its host name,
	// which its serving certificate names.
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			if name, err := os.Hostname(); err == nil && name != "" {
				addr = net.JoinHostPort(name, port)
			}
		}
	}
	if cfg.Insecure {
		return "http://" + addr
	}
	return "https://" + addr
}

// operation serves the status URL of a long-running operation.
func (s *Server) operation(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 || r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, errBody("NotFound", "no operation at %s", r.URL.Path))
		return
	}
	op, err := s.ops.Get(r.Context(), parts[2])
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	if parts[1] == "operationResults" {
		switch op.Status {
		case api.StatusInProgress:
			w.Header().Set("Location", s.external+r.URL.RequestURI())
			w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSeconds))
			writeJSON(w, http.StatusAccepted, nil)
		case api.StatusSucceeded:
			writeJSON(w, http.StatusNoContent, nil)
		default:
			detail := api.ErrorDetail{Code: "OperationFailed", Message: "operation " + op.Status}
			if op.Error != nil {
				detail = *op.Error
			}
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: detail})
		}
		return
	}
	if op.Status == api.StatusInProgress {
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSeconds))
	}
	writeJSON(w, http.StatusOK, op)
}
