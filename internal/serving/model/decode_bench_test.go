package model

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
)

// image784 is an inference request for one 28x28 greyscale image scaled
// to [0, 1], as a fashion-mnist client sends it: most pixels dark, the
// rest multiples of 1/255 written with float32 precision.
func image784() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"id":"bench","inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[`)
	for i := range 784 {
		if i > 0 {
			b = append(b, ',')
		}
		v := float32(0)
		if rng.IntN(2) == 0 {
			v = float32(rng.IntN(256)) / 255
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, "]}]}"...)
}

func TestImage784(t *testing.T) {
	body := image784()
	req, err := DecodeInfer(body)
	if err != nil {
		t.Fatal(err)
	}
	var std jsonInfer
	if err := json.Unmarshal(body, &std); err != nil {
		t.Fatal(err)
	}
	got, want := req.Inputs[0].FP32, std.Inputs[0].Data
	if len(got) != 784 || len(want) != 784 {
		t.Fatalf("decoded %d and %d values, want 784", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("value %d: got %v, encoding/json %v", i, got[i], want[i])
		}
	}
}

// jsonInfer is the request as encoding/json would decode it.
type jsonInfer struct {
	ID     string `json:"id"`
	Inputs []struct {
		Name     string    `json:"name"`
		Shape    []int64   `json:"shape"`
		Datatype string    `json:"datatype"`
		Data     []float32 `json:"data"`
	} `json:"inputs"`
}

func BenchmarkDecodeInfer784(b *testing.B) {
	body := image784()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInfer(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInfer784EncodingJSON(b *testing.B) {
	body := image784()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req jsonInfer
		if err := json.Unmarshal(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeScore784(b *testing.B) {
	body := []byte(`{"data":[[`)
	for i := range 784 {
		if i > 0 {
			body = append(body, ',')
		}
		body = strconv.AppendFloat(body, float64(i%256)/255, 'g', -1, 32)
	}
	body = append(body, "]]}"...)
	specs := []Spec{{Name: "input", DataType: FP32, Shape: []int64{-1, 784}}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeScore(body, specs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendInferResponse(b *testing.B) {
	out := []Tensor{{Name: "probabilities", DataType: FP32, Shape: []int64{1, 10}, FP32: []float32{0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.55}}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendInferResponse(buf[:0], "mnist", "1", "bench", out)
	}
}
