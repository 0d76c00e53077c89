// Command fashionfixture makes (or reuses) the Fashion-MNIST MLP fixture
// and writes the request bodies the serving benchmark sends: one real
// test image as an Open Inference Protocol v2 request (oip.json) and as an
// Azure ML scoring request (score.json). It prints the model's path.
//
//	go run ./bench/fashionfixture -dir FIXTUREDIR -out BODYDIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
)

func main() {
	dir := flag.String("dir", fashion.DefaultFixtureDir(), "fixture directory (trained once, reused after)")
	out := flag.String("out", ".", "directory for oip.json, score.json and expected.txt")
	flag.Parse()
	f, err := fashion.NewFixture(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fashionfixture:", err)
		os.Exit(1)
	}
	imgs := f.Images(1)
	if len(imgs) == 0 {
		fmt.Fprintln(os.Stderr, "fashionfixture: the fixture has no test images")
		os.Exit(1)
	}
	var row strings.Builder
	for i, v := range imgs[0] {
		if i > 0 {
			row.WriteByte(',')
		}
		row.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
	}
	oip := fmt.Sprintf(`{"inputs":[{"name":%q,"shape":[1,%d],"datatype":"FP32","data":[%s]}]}`,
		fashion.InputName, len(imgs[0]), row.String())
	score := fmt.Sprintf(`{"data":[[%s]]}`, row.String())
	for name, body := range map[string]string{
		"oip.json": oip, "score.json": score,
		"expected.txt": strconv.Itoa(f.Expected[0].Predicted) + "\n",
	} {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(body), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fashionfixture:", err)
			os.Exit(1)
		}
	}
	fmt.Println(f.ModelPath)
}
