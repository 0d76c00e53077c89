package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/api"
)

// webServices serves a workspace's web services:
//
//	GET    .../workspaces/{ws}/services
//	PUT    .../workspaces/{ws}/services/{name}        create or update (deploy)
//	GET    .../workspaces/{ws}/services/{name}
//	DELETE .../workspaces/{ws}/services/{name}
//	POST   .../workspaces/{ws}/services/{name}/listKeys
//	POST   .../workspaces/{ws}/services/{name}/regenerateKeys   {"keyType": "Primary"|"Secondary"}
//	POST   .../workspaces/{ws}/services/{name}/token
//	GET    .../workspaces/{ws}/services/{name}/logs?version=&tail=
func (s *Server) webServices(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	if rt.child == "" {
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		list, err := s.services.List(ctx, api.WorkspaceID(rt.sub, rt.rg, rt.name))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.ServiceList{Value: list})
		return nil
	}
	id := api.ComputeID(rt.sub, rt.rg, rt.name, rt.childName) // a child of the workspace, like a compute
	switch action := strings.ToLower(rt.action); {
	case action == "" && r.Method == http.MethodPut:
		var body api.Service
		if err := decode(r, &body); err != nil {
			return err
		}
		out, opID, created, err := s.services.CreateOrUpdate(ctx, id, body)
		if err != nil {
			return err
		}
		s.accepted(w, r, createdStatus(created), opID, out)
	case action == "" && r.Method == http.MethodGet:
		out, err := s.services.Get(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
	case action == "" && r.Method == http.MethodDelete:
		opID, err := s.services.Delete(ctx, id)
		if err != nil {
			return err
		}
		s.accepted(w, r, http.StatusAccepted, opID, nil)
	case action == "listkeys" && r.Method == http.MethodPost:
		k, err := s.services.Keys(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, k)
	case action == "regeneratekeys" && r.Method == http.MethodPost:
		var body struct {
			KeyType string `json:"keyType"`
		}
		if err := decode(r, &body); err != nil {
			return err
		}
		k, err := s.services.RegenerateKey(ctx, id, body.KeyType)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, k)
	case action == "token" && r.Method == http.MethodPost:
		t, err := s.services.Token(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, t)
	case action == "logs" && r.Method == http.MethodGet:
		tail, _ := strconv.ParseInt(r.URL.Query().Get("tail"), 10, 64)
		if tail <= 0 {
			tail = 100
		}
		logs, err := s.services.Logs(ctx, id, r.URL.Query().Get("version"), tail)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"content": logs})
	case action == "listkeys", action == "regeneratekeys", action == "token", action == "logs", action == "":
		return methodNotAllowed(r)
	default:
		return badPath(r)
	}
	return nil
}
