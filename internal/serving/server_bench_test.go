package serving

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// sums is a stand-in for a fashion-mnist classifier: ten outputs, each the
// mean of a slice of the 784 pixels, so that the benchmark measures the
// server, not a model.
type sums struct{}

func (sums) Framework() string { return "onnx" }
func (sums) Inputs() []model.Spec {
	return []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, 784}}}
}
func (sums) Outputs() []model.Spec {
	return []model.Spec{{Name: "logits", DataType: model.FP32, Shape: []int64{-1, 10}}}
}
func (sums) Close() error { return nil }
func (sums) Predict(_ context.Context, in []model.Tensor) ([]model.Tensor, error) {
	x, err := in[0].Float32s()
	if err != nil {
		return nil, err
	}
	rows := int(in[0].Shape[0])
	out := make([]float32, rows*10)
	for i, v := range x {
		out[i/784*10+i%784%10] += v / 78.4
	}
	return []model.Tensor{{Name: "logits", DataType: model.FP32, Shape: []int64{int64(rows), 10}, FP32: out}}, nil
}

func image(prefix, suffix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := range 784 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(float32(float64(i*37%256)/255)), 'g', -1, 32))
	}
	b.WriteString(suffix)
	return b.String()
}

func benchmarkHandler(b *testing.B, path, body string) {
	h := NewHandler(sums{}, Options{Name: "fashion"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	r := strings.NewReader(body)
	req := httptest.NewRequest("POST", path, r)
	w := &discard{h: http.Header{}}
	for b.Loop() {
		r.Reset(body)
		h.ServeHTTP(w, req)
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkHandlerInfer784(b *testing.B) {
	benchmarkHandler(b, "/v2/models/fashion/infer",
		image(`{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[`, `]}]}`))
}

func BenchmarkHandlerScore784(b *testing.B) {
	benchmarkHandler(b, "/score", image(`{"data":[[`, `]]}`))
}
