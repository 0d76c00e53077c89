package app

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The CLI is a client: of this module it may import only the wire types,
// the SDK and the output formatting. The server's composition, the local
// workflow and the in-cluster programs live in packages of their own.
func TestImportsOnlyTheSDK(t *testing.T) {
	const module = "github.com/kubeml/kubeml/"
	allowed := map[string]bool{module + "api": true, module + "client": true, module + "internal/output": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, module) && !allowed[path] {
				t.Errorf("%s imports %s: package app may import only %sapi, %sclient and %sinternal/output of this module",
					fset.Position(imp.Pos()), path, module, module, module)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Go files checked")
	}
}
