package localdev

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// execute runs cmd with args, its output discarded.
func execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

func TestUpFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		args    []string
		want    upOptions
		wantErr string
	}{
		"text and the sample by default":  {},
		"-o json":                         {args: []string{"-o", "json"}, want: upOptions{JSON: true}},
		"--output text --no-sample":       {args: []string{"--output", "text", "--no-sample"}, want: upOptions{NoSample: true}},
		"an unknown format runs nothing":  {args: []string{"-o", "yaml"}, wantErr: `unknown output format "yaml": use text or json`},
		"an argument runs nothing either": {args: []string{"now"}, wantErr: "unknown command"},
	} {
		t.Run(name, func(t *testing.T) {
			ran := false
			var got upOptions
			err := execute(newUp(func(_ context.Context, o upOptions) error { ran, got = true, o; return nil }), tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ran {
					t.Fatalf("err = %v (ran %v), want %q", err, ran, tc.wantErr)
				}
				return
			}
			if err != nil || !ran || got != tc.want {
				t.Errorf("ran %v with %+v, %v; want %+v", ran, got, err, tc.want)
			}
		})
	}
}

func TestDownFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		yes  bool
	}{{nil, false}, {[]string{"--yes"}, true}, {[]string{"-y"}, true}} {
		var yes, ran bool
		if err := execute(newDown(func(_ context.Context, y bool) error { ran, yes = true, y; return nil }), tc.args...); err != nil || !ran || yes != tc.yes {
			t.Errorf("down %v: ran %v, yes %v, %v", tc.args, ran, yes, err)
		}
	}
}
