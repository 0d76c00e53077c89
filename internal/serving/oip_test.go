package serving

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestOIPRoutes(t *testing.T) {
	h := NewHandler(newLinear(true), Options{Name: "iris", Version: "1", ServerVersion: "v0.1.0"})
	for path, want := range map[string]string{
		"/v2":                              `{"extensions":[],"name":"kubeml","version":"v0.1.0"}`,
		"/v2/health/live":                  `{"live":true}`,
		"/v2/health/ready":                 `{"ready":true}`,
		"/v2/models/iris/ready":            `{"name":"iris","ready":true}`,
		"/v2/models/iris/versions/1/ready": `{"name":"iris","ready":true}`,
		"/v2/models/iris": `{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],"name":"iris",` +
			`"outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,3]},{"name":"label","datatype":"INT64","shape":[-1]}],` +
			`"platform":"onnx","versions":["1"]}`,
	} {
		if code, body, _ := do(t, h, "GET", path, ""); code != 200 || body != want {
			t.Errorf("GET %s = %d %s, want %s", path, code, body, want)
		}
	}
	_, plain, _ := do(t, h, "GET", "/v2/models/iris", "")
	if _, versioned, _ := do(t, h, "GET", "/v2/models/iris/versions/1", ""); versioned != plain {
		t.Errorf("versioned metadata %s differs from %s", versioned, plain)
	}
	for path, want := range map[string]string{
		"/v2/models/mnist":           `model "mnist" not found; this server has "iris"`,
		"/v2/models/mnist/infer":     `model "mnist" not found`,
		"/v2/models/iris/versions/2": `model "iris" has no version "2"`,
		"/v2/models/iris/versions":   "no endpoint",
		"/v2/models/iris/explain":    "no endpoint",
		"/v2/models/iris/ready/now":  "no endpoint",
		"/v2/models/":                `model "" not found`,
		"/v2/repository/index":       "no endpoint",
		"/predict":                   "no endpoint",
	} {
		code, body, _ := do(t, h, "GET", path, "")
		if code != 404 {
			t.Errorf("GET %s = %d, want 404", path, code)
		} else if msg := errorOf(t, body); !strings.Contains(msg, want) {
			t.Errorf("GET %s: error %q, want %q", path, msg, want)
		}
	}
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/v2/models/iris", "GET, HEAD"},
		{"DELETE", "/v2/health/live", "GET, HEAD"},
		{"GET", "/v2/models/iris/infer", "POST"},
		{"PUT", "/swagger.json", "GET, HEAD"},
	} {
		code, body, hdr := do(t, h, c.method, c.path, "")
		if code != 405 || hdr.Get("Allow") != c.allow {
			t.Errorf("%s %s = %d, Allow %q", c.method, c.path, code, hdr.Get("Allow"))
		}
		errorOf(t, body)
	}
	// A model without a version has no versioned paths.
	h = NewHandler(newLinear(false), Options{})
	if code, body, _ := do(t, h, "GET", "/v2/models/model", ""); code != 200 || !strings.Contains(body, `"versions":[]`) {
		t.Errorf("unversioned metadata: %d %s", code, body)
	}
	if code, _, _ := do(t, h, "GET", "/v2/models/model/versions/1", ""); code != 404 {
		t.Errorf("unversioned model, versioned path: %d", code)
	}
}

// inferBody builds an inference request for rows.
func inferBody(id string, outputs ...string) string {
	var data []string
	for _, r := range rows {
		for _, v := range r {
			data = append(data, fmt.Sprint(v))
		}
	}
	b := fmt.Sprintf(`{"id":%q,"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[%s]}]`, id, strings.Join(data, ","))
	if len(outputs) > 0 {
		b += `,"outputs":[{"name":"` + strings.Join(outputs, `"},{"name":"`) + `"}]`
	}
	return b + "}"
}

type inferReply struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name     string    `json:"name"`
		Datatype string    `json:"datatype"`
		Shape    []int64   `json:"shape"`
		Data     []float64 `json:"data"`
	} `json:"outputs"`
}

func TestInfer(t *testing.T) {
	h := NewHandler(newLinear(true), Options{Name: "iris", Version: "1"})
	for _, path := range []string{"/v2/models/iris/infer", "/v2/models/iris/versions/1/infer"} {
		code, body, _ := do(t, h, "POST", path, inferBody("req-1"))
		var got inferReply
		if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
			t.Fatalf("POST %s = %d %s", path, code, body)
		}
		if got.ModelName != "iris" || got.ModelVersion != "1" || got.ID != "req-1" || len(got.Outputs) != 2 {
			t.Fatalf("reply %+v", got)
		}
		p := got.Outputs[0]
		if p.Name != "probabilities" || p.Datatype != "FP32" || fmt.Sprint(p.Shape) != "[2 3]" {
			t.Fatalf("output %+v", p)
		}
		near(t, p.Data[:3], expect(rows[0]))
		near(t, p.Data[3:], expect(rows[1]))
	}

	code, body, _ := do(t, h, "POST", "/v2/models/iris/infer", inferBody("", "label"))
	var got inferReply
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Outputs) != 1 || got.Outputs[0].Name != "label" {
		t.Fatalf("requested outputs: %d %s", code, body)
	}
	if strings.Contains(body, `"id"`) {
		t.Errorf("reply has an id the request did not: %s", body)
	}
}

func TestInferErrors(t *testing.T) {
	h := NewHandler(newLinear(true), Options{Name: "iris"})
	tests := map[string]struct {
		body string
		code int
		want []string
	}{
		"wrong shape": {`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, 400,
			[]string{`input "input": got shape [1 3], want [-1 4]`}},
		"count mismatch": {`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3]}]}`, 400,
			[]string{`input "input": shape [1 4] needs 4 values, data has 3`}},
		"unknown input and output": {`{"inputs":[{"name":"img","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"logits"}]}`, 400,
			[]string{`unknown input "img"`, `input "input" is missing (want shape [-1 4], FP32)`, `unknown output "logits"; the model's outputs are "probabilities", "label"`}},
		"FP16":             {`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP16","data":[1,2,3,4]}]}`, 400, []string{"FP16 is unsupported"}},
		"the model breaks": {`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[999,0,0,0]}]}`, 500, []string{"the model broke"}},
		"empty body":       {``, 400, []string{"must be an object"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, body, _ := do(t, h, "POST", "/v2/models/iris/infer", tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d (%s)", code, tc.code, body)
			}
			msg := errorOf(t, body)
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q, want it to contain %q", msg, want)
				}
			}
		})
	}
}
