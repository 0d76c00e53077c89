package serving

import (
	"net/http"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// score answers POST /score, Azure ML's scoring call. The body is
// {"data": X} or {"input_data": ...} (see model.DecodeScore); the reply is
// the single output as a nested array, or an object of the outputs keyed
// by name.
func (h *handler) score(w http.ResponseWriter, r *http.Request) {
	buf, ok := h.body(w, r)
	if !ok {
		return
	}
	in, err := model.DecodeScore(buf.Bytes(), h.inputs)
	h.release(buf) // the tensors do not refer to the body
	if err == nil {
		err = model.CheckInputs(h.inputs, in)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, ok := h.predict(w, r, in)
	if !ok {
		return
	}
	p := h.replyBuf()
	if len(out) == 1 {
		*p = model.AppendData(*p, &out[0], true)
	} else {
		*p = append(*p, '{')
		for i := range out {
			if i > 0 {
				*p = append(*p, ',')
			}
			*p = model.AppendString(*p, out[i].Name)
			*p = append(*p, ':')
			*p = model.AppendData(*p, &out[i], true)
		}
		*p = append(*p, '}')
	}
	h.send(w, p)
}
