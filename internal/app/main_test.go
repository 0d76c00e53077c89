package app_test

import (
	"os"
	"testing"

	"github.com/kubeml/kubeml/internal/clustertest"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "none"}, &env))
}
