package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
)

func (s *Server) serveWorkspaces(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	if rt.rg == "" {
		return badRequest("InvalidRequestUri", "workspaces are listed per resource group")
	}
	if rt.name == "" {
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		list, err := s.workspaces.List(ctx, rt.sub, rt.rg)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.WorkspaceList{Value: list})
		return nil
	}
	id := api.WorkspaceID(rt.sub, rt.rg, rt.name)
	switch r.Method {
	case http.MethodGet:
		ws, err := s.workspaces.Get(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ws)
	case http.MethodPut:
		var in api.Workspace
		if err := decode(r, &in); err != nil {
			return err
		}
		ws, created, err := s.workspaces.Put(ctx, id, in)
		if err != nil {
			return err
		}
		writeJSON(w, createdStatus(created), ws)
	case http.MethodDelete:
		if err := s.workspaces.Delete(ctx, id); isNotFound(err) {
			writeJSON(w, http.StatusNoContent, nil)
		} else if err != nil {
			return err
		} else {
			writeJSON(w, http.StatusOK, nil)
		}
	default:
		return methodNotAllowed(r)
	}
	return nil
}

func (s *Server) computes(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	if rt.rg == "" {
		return badRequest("InvalidRequestUri", "computes live in a workspace of a resource group")
	}
	if rt.childName == "" { // .../computes: the list
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		return s.listComputes(w, r, rt)
	}
	id := api.ComputeID(rt.sub, rt.rg, rt.name, rt.childName)
	switch {
	case rt.action != "" && r.Method == http.MethodPost && strings.EqualFold(rt.action, "listKeys"):
		keys, err := s.mgr.ComputeKeys(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, keys)
	case rt.action != "" && r.Method == http.MethodPost && strings.EqualFold(rt.action, "listNodes"):
		nodes, err := s.mgr.ComputeNodes(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, nodes)
	case rt.action != "":
		return methodNotAllowed(r)
	case r.Method == http.MethodGet:
		c, err := s.mgr.GetCompute(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
	case r.Method == http.MethodPut && strings.EqualFold(r.URL.Query().Get("dryRun"), "true"):
		var in api.Compute
		if err := decode(r, &in); err != nil {
			return err
		}
		rep, err := s.mgr.PreflightCompute(ctx, id, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
	case r.Method == http.MethodPut:
		var in api.Compute
		if err := decode(r, &in); err != nil {
			return err
		}
		c, op, created, err := s.mgr.CreateOrUpdateCompute(ctx, id, in)
		if err != nil {
			return err
		}
		s.accepted(w, r, createdStatus(created), op, c)
	case r.Method == http.MethodDelete:
		action := r.URL.Query().Get("underlyingResourceAction")
		op, err := s.mgr.DeleteCompute(ctx, id, action, strings.EqualFold(r.URL.Query().Get("force"), "true"))
		switch {
		case isNotFound(err):
			writeJSON(w, http.StatusNoContent, nil)
		case err != nil:
			return err
		case op == "":
			writeJSON(w, http.StatusOK, nil)
		default:
			s.accepted(w, r, http.StatusAccepted, op, nil)
		}
	default:
		return methodNotAllowed(r)
	}
	return nil
}

// listComputes serves a page of computes ($skip), with a nextLink.
func (s *Server) listComputes(w http.ResponseWriter, r *http.Request, rt route) error {
	all, err := s.mgr.ListComputes(r.Context(), rt.sub, rt.rg, rt.name)
	if err != nil {
		return err
	}
	skip := 0
	if v := r.URL.Query().Get("$skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			return badRequest("InvalidSkip", "$skip must be a non-negative integer, got %q", v)
		}
	}
	page := api.ComputeList{Value: []api.Compute{}}
	if skip < len(all) {
		end := min(skip+s.cfg.PageSize, len(all))
		page.Value = all[skip:end]
		if end < len(all) {
			q := r.URL.Query()
			q.Set("$skip", strconv.Itoa(end))
			page.NextLink = s.external + r.URL.Path + "?" + q.Encode()
		}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) managedClusters(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	if rt.name == "" {
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		list, err := s.clusters.List(ctx, rt.sub, rt.rg)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.ManagedClusterList{Value: list})
		return nil
	}
	if rt.rg == "" || rt.child != "" {
		return badRequest("InvalidRequestUri", "a managed cluster is addressed in its resource group")
	}
	id := api.ManagedClusterID(rt.sub, rt.rg, rt.name)
	switch {
	case rt.action != "" && r.Method == http.MethodPost &&
		(strings.EqualFold(rt.action, "listClusterUserCredential") || strings.EqualFold(rt.action, "listClusterAdminCredential")):
		name, get := "clusterUser", s.clusters.UserKubeconfig
		if strings.EqualFold(rt.action, "listClusterAdminCredential") {
			name, get = "clusterAdmin", s.clusters.Kubeconfig
		}
		kc, err := get(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.CredentialResults{Kubeconfigs: []api.CredentialResult{{Name: name, Value: kc}}})
	case rt.action != "" && r.Method == http.MethodPost && strings.EqualFold(rt.action, "start"):
		op, err := s.clusters.Start(ctx, id)
		if err != nil {
			return err
		}
		s.accepted(w, r, http.StatusAccepted, op, nil)
	case rt.action != "":
		return methodNotAllowed(r)
	case r.Method == http.MethodGet:
		mc, err := s.clusters.Get(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, mc)
	case r.Method == http.MethodPut:
		var in api.ManagedCluster
		if err := decode(r, &in); err != nil {
			return err
		}
		mc, op, created, err := s.clusters.CreateOrUpdate(ctx, id, in)
		if err != nil {
			return err
		}
		s.accepted(w, r, createdStatus(created), op, mc)
	case r.Method == http.MethodDelete:
		op, err := s.clusters.Delete(ctx, id)
		if isNotFound(err) {
			writeJSON(w, http.StatusNoContent, nil)
			return nil
		}
		if err != nil {
			return err
		}
		s.accepted(w, r, http.StatusAccepted, op, nil)
	default:
		return methodNotAllowed(r)
	}
	return nil
}

// versions serves kubernetesVersions and the older orchestrators shape.
func (s *Server) versions(w http.ResponseWriter, r *http.Request, rt route) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	vs, err := s.clusters.Versions(r.Context(), rt.location)
	if err != nil {
		return err
	}
	switch strings.ToLower(rt.locAction) {
	case "kubernetesversions":
		// One entry per minor version, its patches under it (vs is sorted).
		out := api.KubernetesVersionList{Values: []api.KubernetesVersion{}}
		for _, v := range vs {
			minor := v.Version
			if i := strings.LastIndex(minor, "."); strings.Count(minor, ".") == 2 {
				minor = minor[:i]
			}
			n := len(out.Values)
			if n == 0 || out.Values[n-1].Version != minor {
				out.Values = append(out.Values, api.KubernetesVersion{Version: minor, PatchVersions: map[string]api.PatchVersion{}})
				n++
			}
			kv := &out.Values[n-1]
			kv.IsDefault = kv.IsDefault || v.IsDefault
			kv.IsPreview = kv.IsPreview || v.IsPreview
			kv.PatchVersions[v.Version] = api.PatchVersion{Upgrades: orEmpty(v.Upgrades)}
		}
		writeJSON(w, http.StatusOK, out)
	case "orchestrators":
		out := api.OrchestratorVersionProfileList{
			ID:   "/subscriptions/" + rt.sub + "/providers/Microsoft.ContainerService/locations/" + rt.location + "/orchestrators",
			Name: "default", Type: "Microsoft.ContainerService/locations/orchestrators"}
		out.Properties.Orchestrators = []api.OrchestratorVersionProfile{}
		for _, v := range vs {
			o := api.OrchestratorVersionProfile{OrchestratorType: "Kubernetes", OrchestratorVersion: v.Version, Default: v.IsDefault, IsPreview: v.IsPreview}
			for _, u := range v.Upgrades {
				o.Upgrades = append(o.Upgrades, api.OrchestratorUpgrade{OrchestratorType: "Kubernetes", OrchestratorVersion: u})
			}
			out.Properties.Orchestrators = append(out.Properties.Orchestrators, o)
		}
		writeJSON(w, http.StatusOK, out)
	default:
		return &fault.Error{Kind: fault.NotFound, ErrorDetail: errBody("InvalidResourceType", "no kubeml resource at %s", r.URL.Path).Error}
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// createdStatus is 201 for a new resource, 200 for an updated one.
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
