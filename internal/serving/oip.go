package serving

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// model answers the Open Inference Protocol's per-model endpoints:
// /v2/models/{name}[/versions/{v}][/ready|/infer]. rest is the escaped
// path after /v2/models/.
func (h *handler) model(w http.ResponseWriter, r *http.Request, rest string) {
	segs := strings.Split(rest, "/")
	name, err := url.PathUnescape(segs[0])
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %q", clip(r.URL.Path)))
		return
	}
	segs = segs[1:]
	version, versioned := "", false
	if len(segs) >= 2 && segs[0] == "versions" {
		version, err = url.PathUnescape(segs[1])
		versioned, segs = true, segs[2:]
	}
	action := ""
	if len(segs) == 1 {
		action = segs[0]
	}
	if err != nil || len(segs) > 1 || (len(segs) == 1 && action != "ready" && action != "infer") {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %q", clip(r.URL.Path)))
		return
	}
	if name != h.opts.Name {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found; this server has %q", clip(name), h.opts.Name))
		return
	}
	if versioned && version != h.opts.Version {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q", name, clip(version)))
		return
	}
	switch action {
	case "":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, h.metadata)
		}
	case "ready":
		if allow(w, r, http.MethodGet) {
			p := h.replyBuf()
			*p = append(*p, `{"name":`...)
			*p = model.AppendString(*p, name)
			*p = append(*p, `,"ready":true}`...)
			h.send(w, p)
		}
	case "infer":
		if allow(w, r, http.MethodPost) {
			h.infer(w, r)
		}
	}
}

// infer answers POST .../infer.
func (h *handler) infer(w http.ResponseWriter, r *http.Request) {
	buf, ok := h.body(w, r)
	if !ok {
		return
	}
	req, err := model.DecodeInfer(buf.Bytes())
	h.release(buf) // the request does not refer to the body
	if err == nil {
		err = errors.Join(model.CheckInputs(h.inputs, req.Inputs), h.checkOutputs(req.Outputs))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, ok := h.predict(w, r, req.Inputs)
	if !ok {
		return
	}
	if len(req.Outputs) > 0 {
		picked := make([]model.Tensor, 0, len(req.Outputs))
		for _, name := range req.Outputs {
			i := indexOf(out, name)
			if i < 0 {
				h.log.Error("the model did not return an output it declares", "model", h.opts.Name, "output", name)
				writeError(w, http.StatusInternalServerError, fmt.Sprintf("the model did not return output %q", name))
				return
			}
			picked = append(picked, out[i])
		}
		out = picked
	}
	p := h.replyBuf()
	*p = model.AppendInferResponse(*p, h.opts.Name, h.opts.Version, req.ID, out)
	h.send(w, p)
}

// checkOutputs checks that the model declares every requested output.
func (h *handler) checkOutputs(names []string) error {
	if len(h.outputs) == 0 {
		return nil
	}
	var errs []error
	for _, name := range names {
		found := false
		for _, sp := range h.outputs {
			found = found || sp.Name == name
		}
		if !found {
			errs = append(errs, fmt.Errorf("unknown output %q; the model's outputs are %s", name, specNames(h.outputs)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", model.ErrBadInput, errors.Join(errs...))
	}
	return nil
}

func indexOf(ts []model.Tensor, name string) int {
	for i := range ts {
		if ts[i].Name == name {
			return i
		}
	}
	return -1
}

// specNames lists the specs' names for a message.
func specNames(specs []model.Spec) string {
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = fmt.Sprintf("%q", sp.Name)
	}
	return strings.Join(names, ", ")
}

// metadata is the body of GET /v2/models/{name}.
func metadata(name, version, platform string, inputs, outputs []model.Spec) []byte {
	versions := []string{}
	if version != "" {
		versions = append(versions, version)
	}
	return toJSON(map[string]any{
		"name": name, "versions": versions, "platform": platform,
		"inputs": tensorSpecs(inputs), "outputs": tensorSpecs(outputs),
	})
}

// tensorSpecs copies specs so that shapes and the list are never null.
func tensorSpecs(specs []model.Spec) []model.Spec {
	out := make([]model.Spec, len(specs))
	for i, sp := range specs {
		if sp.Shape == nil {
			sp.Shape = []int64{}
		}
		out[i] = sp
	}
	return out
}

// toJSON marshals v, which holds only plain data.
func toJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Appendf(nil, `{"error":%q}`, err.Error())
	}
	return b
}
