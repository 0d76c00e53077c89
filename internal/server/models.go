package server

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/registry"
)

// models serves the model registry of a workspace:
//
//	GET    .../workspaces/{ws}/models                          latest version of each model
//	GET    .../workspaces/{ws}/models/{name}/versions          a model's versions
//	POST   .../workspaces/{ws}/models/{name}/versions          register the body (the file) as the next version
//	GET    .../workspaces/{ws}/models/{name}/versions/{v}      one version ("latest" works)
//	DELETE .../workspaces/{ws}/models/{name}/versions/{v}
//	GET    .../workspaces/{ws}/models/{name}/versions/{v}/content   the file
//
// POST takes query parameters fileName, framework, description and tag
// (k=v, repeatable).
func (s *Server) models(w http.ResponseWriter, r *http.Request, rt route) error {
	ws := api.WorkspaceID(rt.sub, rt.rg, rt.name)
	notHere := func() error { return badPath(r) }
	switch {
	case strings.EqualFold(rt.action, "models") && rt.child == "":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		list, err := s.registry.List(r.Context(), ws, "")
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.ModelVersionList{Value: list})
		return nil
	case rt.grand == "" && strings.EqualFold(rt.action, "versions"):
		switch r.Method {
		case http.MethodGet:
			list, err := s.registry.List(r.Context(), ws, rt.childName)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, api.ModelVersionList{Value: list})
			return nil
		case http.MethodPost:
			return s.registerModel(w, r, ws, rt.childName)
		}
		return methodNotAllowed(r)
	case !strings.EqualFold(rt.grand, "versions"):
		return notHere()
	}
	v, err := registry.ParseVersion(rt.grandName)
	if err != nil {
		return err
	}
	switch {
	case strings.EqualFold(rt.action, "content") && r.Method == http.MethodGet:
		rc, mv, err := s.registry.Open(r.Context(), ws, rt.childName, v)
		if err != nil {
			return err
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(mv.Properties.Size, 10))
		w.Header().Set("Content-Disposition", `attachment; filename="`+mv.Properties.FileName+`"`)
		w.Header().Set("X-Kubeml-SHA256", mv.Properties.SHA256)
		_, _ = io.Copy(w, rc)
		return nil
	case rt.action != "":
		return notHere()
	case r.Method == http.MethodGet:
		mv, err := s.registry.Get(r.Context(), ws, rt.childName, v)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, mv)
		return nil
	case r.Method == http.MethodDelete:
		if err := s.registry.Delete(r.Context(), ws, rt.childName, v); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return methodNotAllowed(r)
}

func (s *Server) registerModel(w http.ResponseWriter, r *http.Request, ws api.ResourceID, name string) error {
	q := r.URL.Query()
	o := registry.Options{FileName: q.Get("fileName"), Framework: q.Get("framework"), Description: q.Get("description")}
	for _, t := range q["tag"] {
		k, v, _ := strings.Cut(t, "=")
		if o.Tags == nil {
			o.Tags = map[string]string{}
		}
		o.Tags[k] = v
	}
	if o.FileName == "" {
		o.FileName = "model"
	}
	mv, err := s.registry.Register(r.Context(), ws, name, o, r.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, mv)
	return nil
}
