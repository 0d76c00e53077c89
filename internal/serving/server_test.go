package serving

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// do sends a request to h and returns the status, body and Allow header.
func do(t testing.TB, h http.Handler, method, path, body string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	return rec.Code, rec.Body.String(), rec.Header()
}

// errorOf decodes an {"error": ...} body.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not {\"error\": ...}: %v", body, err)
	}
	return e.Error
}

// near checks that got is want to float32 precision.
func near(t testing.TB, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
		return
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("got %v, want %v", got, want)
			return
		}
	}
}

var rows = [][]float64{{0.1, 0.2, 0.3, 0.4}, {1, -1, 0.5, 0}}

func TestAzureRoutes(t *testing.T) {
	h := NewHandler(newLinear(false), Options{Name: "iris", Version: "1"})
	if code, body, _ := do(t, h, "GET", "/", ""); code != 200 || body != "Healthy" {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, _, _ := do(t, h, "HEAD", "/", ""); code != 200 {
		t.Errorf("HEAD / = %d", code)
	}
	if code, _, hdr := do(t, h, "POST", "/", "x"); code != 405 || hdr.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d, Allow %q", code, hdr.Get("Allow"))
	}

	code, body, _ := do(t, h, "POST", "/score", `{"data": [[0.1,0.2,0.3,0.4],[1,-1,0.5,0]]}`)
	var got [][]float64
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got) != 2 {
		t.Fatalf("POST /score = %d %s", code, body)
	}
	for i := range rows {
		near(t, got[i], expect(rows[i]))
	}

	code, body, _ = do(t, h, "POST", "/score", `{"input_data": {"input": [0.1,0.2,0.3,0.4]}}`)
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got) != 1 {
		t.Fatalf("one flat row: %d %s", code, body)
	}
	near(t, got[0], expect(rows[0]))

	if code, _, hdr := do(t, h, "GET", "/score", ""); code != 405 || hdr.Get("Allow") != "POST" {
		t.Errorf("GET /score = %d, Allow %q", code, hdr.Get("Allow"))
	}
}

func TestScoreErrors(t *testing.T) {
	h := NewHandler(newLinear(false), Options{MaxBodyBytes: 200})
	tests := map[string]struct {
		body string
		code int
		want string
	}{
		"wrong row length":        {`{"data":[[1,2,3]]}`, 400, `input "input": got shape [1 3], want [-1 4]`},
		"ragged rows":             {`{"data":[[1,2,3,4],[1]]}`, 400, `input "input" (shape [-1 4]): ragged array`},
		"not JSON":                {`data=1`, 400, "must be an object"},
		"unknown input":           {`{"input_data":{"x":[1]}}`, 400, `unknown input "x"; the model's inputs are "input"`},
		"the model refuses a row": {`{"data":[[-999,0,0,0]]}`, 400, "row 0: bad input"},
		"the model breaks":        {`{"data":[[999,0,0,0]]}`, 500, "prediction failed: the model broke"},
		"too large":               {`{"data":[` + strings.Repeat("0,", 200) + `0]}`, 413, "over 200 bytes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, body, _ := do(t, h, "POST", "/score", tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d (%s)", code, tc.code, body)
			}
			if msg := errorOf(t, body); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}

	// A body without a length is cut off as it streams.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/score", io.MultiReader(strings.NewReader(`{"data":[`), strings.NewReader(strings.Repeat("1,", 500)+"1]}")))
	req.ContentLength = -1
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("streamed large body: %d %s", rec.Code, rec.Body)
	}
}

func TestScoreSeveralOutputs(t *testing.T) {
	h := NewHandler(newLinear(true), Options{})
	code, body, _ := do(t, h, "POST", "/score", `{"data":[[0.1,0.2,0.3,0.4],[1,-1,0.5,0]]}`)
	var got struct {
		Probabilities [][]float64 `json:"probabilities"`
		Label         []int64     `json:"label"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("POST /score = %d %s", code, body)
	}
	for i := range rows {
		near(t, got.Probabilities[i], expect(rows[i]))
		best := 0
		for k, p := range expect(rows[i]) {
			if p > expect(rows[i])[best] {
				best = k
			}
		}
		if got.Label[i] != int64(best) {
			t.Errorf("row %d: label %d, want %d", i, got.Label[i], best)
		}
	}
}

func TestSwagger(t *testing.T) {
	h := NewHandler(newLinear(true), Options{Name: "iris", Version: "3"})
	code, body, hdr := do(t, h, "GET", "/swagger.json", "")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /swagger.json = %d %s", code, hdr.Get("Content-Type"))
	}
	var doc struct {
		Swagger string                    `json:"swagger"`
		Info    struct{ Version string }  `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
		Defs    struct {
			ServiceInput struct {
				Properties struct {
					Data struct {
						Type  string `json:"type"`
						Items struct {
							MaxItems int `json:"maxItems"`
						} `json:"items"`
					} `json:"data"`
				} `json:"properties"`
				Example struct {
					Data [][]float64 `json:"data"`
				} `json:"example"`
			} `json:"ServiceInput"`
			ServiceOutput struct {
				Properties map[string]any `json:"properties"`
			} `json:"ServiceOutput"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("swagger is not valid JSON: %v", err)
	}
	in := doc.Defs.ServiceInput
	switch {
	case doc.Swagger != "2.0" || doc.Info.Version != "3":
		t.Errorf("swagger %q, version %q", doc.Swagger, doc.Info.Version)
	case doc.Paths["/score"]["post"] == nil || doc.Paths["/"]["get"] == nil:
		t.Errorf("paths %v", doc.Paths)
	case in.Properties.Data.Type != "array" || in.Properties.Data.Items.MaxItems != 4:
		t.Errorf("input schema %+v", in.Properties.Data)
	case len(in.Example.Data) != 1 || len(in.Example.Data[0]) != 4:
		t.Errorf("example %v", in.Example.Data)
	case doc.Defs.ServiceOutput.Properties["label"] == nil:
		t.Errorf("output schema %v", doc.Defs.ServiceOutput.Properties)
	}
	// The example is a valid request.
	ex, _ := json.Marshal(map[string]any{"data": in.Example.Data})
	if code, body, _ := do(t, h, "POST", "/score", string(ex)); code != 200 {
		t.Errorf("the swagger example fails: %d %s", code, body)
	}
}

// TestConcurrent runs both protocols from many goroutines; run it with
// -race. Pooled buffers must never mix requests up.
func TestConcurrent(t *testing.T) {
	h := NewHandler(newLinear(false), Options{Name: "iris"})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				x := float64(g*100 + i)
				row := []float64{x / 1000, -x / 500, 0.5, 1}
				data := fmt.Sprintf("[%v,%v,%v,%v]", row[0], row[1], row[2], row[3])
				if i%2 == 0 {
					code, body, _ := do(t, h, "POST", "/score", `{"data":[`+data+`]}`)
					var got [][]float64
					if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got) != 1 {
						t.Errorf("score: %d %s", code, body)
						return
					}
					near(t, got[0], expect(row))
					continue
				}
				id := fmt.Sprint(g, "-", i)
				code, body, _ := do(t, h, "POST", "/v2/models/iris/infer",
					`{"id":"`+id+`","inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":`+data+`}]}`)
				var got inferReply
				if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.ID != id {
					t.Errorf("infer: %d %s", code, body)
					return
				}
				near(t, got.Outputs[0].Data, expect(row))
			}
		})
	}
	wg.Wait()
}
