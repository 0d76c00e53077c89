package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigPrecedence(t *testing.T) {
	const fileJSON = `{"server":"https://file.example:1","token":"file-token","caFile":"file-ca.crt"}`
	fullEnv := map[string]string{EnvServer: "https://env.example:2", EnvToken: "env-token", EnvCAFile: "/env/ca.crt"}
	tests := map[string]struct {
		flags    Config
		env      map[string]string
		file     string // client.json; "" for none
		defaults bool   // write admin-token and ca.crt
		want     Config // CAFile relative to the data dir when not absolute
	}{
		"flags beat everything": {
			flags: Config{Server: "http://127.0.0.1:3", Token: "flag-token", CAFile: "/flag/ca.crt"},
			env:   fullEnv, file: fileJSON, defaults: true,
			want: Config{Server: "http://127.0.0.1:3", Token: "flag-token", CAFile: "/flag/ca.crt"},
		},
		"the environment beats the file": {
			env: fullEnv, file: fileJSON, defaults: true,
			want: Config{Server: "https://env.example:2", Token: "env-token", CAFile: "/env/ca.crt"},
		},
		"the file beats the defaults, its caFile relative to the data dir": {
			file: fileJSON, defaults: true,
			want: Config{Server: "https://file.example:1", Token: "file-token", CAFile: "file-ca.crt"},
		},
		"same-machine defaults come last": {
			defaults: true,
			want:     Config{Server: DefaultServer, Token: "admin", CAFile: "ca.crt"},
		},
		"each field resolves on its own": {
			flags: Config{Token: "flag-token"}, env: map[string]string{EnvServer: "https://localhost:9"}, defaults: true,
			want: Config{Server: "https://localhost:9", Token: "flag-token", CAFile: "ca.crt"},
		},
		"the local admin token and CA are not used for another machine": {
			env: map[string]string{EnvServer: "https://remote.example:8417"}, defaults: true,
			want: Config{Server: "https://remote.example:8417"},
		},
		"CA data given as a flag skips the CA file": {
			flags: Config{CAData: []byte("pem")}, env: fullEnv, defaults: true,
			want: Config{Server: "https://env.example:2", Token: "env-token", CAData: []byte("pem")},
		},
		"with nothing at all the server is the local default": {
			want: Config{Server: DefaultServer},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.file), 0o600)
			}
			if tc.defaults {
				os.WriteFile(filepath.Join(dir, TokenFile), []byte("admin\n"), 0o600)
				os.WriteFile(filepath.Join(dir, CAFileName), []byte("pem"), 0o600)
			}
			got, err := LoadConfig(tc.flags, func(k string) string { return tc.env[k] }, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want.CAFile != "" && !filepath.IsAbs(want.CAFile) {
				want.CAFile = filepath.Join(dir, want.CAFile)
			}
			if got.Server != want.Server || got.Token != want.Token || got.CAFile != want.CAFile || string(got.CAData) != string(want.CAData) {
				t.Errorf("got server %q token %q caFile %q caData %q\nwant server %q token %q caFile %q caData %q",
					got.Server, got.Token, got.CAFile, got.CAData, want.Server, want.Token, want.CAFile, want.CAData)
			}
		})
	}
}

func TestLoadConfigKeepsOtherFieldsAndReportsABadFile(t *testing.T) {
	dir := t.TempDir()
	got, err := LoadConfig(Config{APIVersion: "2023-10-01", UserAgent: "ua"}, nil, dir)
	if err != nil || got.APIVersion != "2023-10-01" || got.UserAgent != "ua" {
		t.Errorf("%+v, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{not json"), 0o600)
	if _, err := LoadConfig(Config{}, nil, dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("a malformed %s: err = %v", ConfigFile, err)
	}
}
