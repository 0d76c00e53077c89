package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultServer is the server of a kubeml running on this machine.
const DefaultServer = "https://127.0.0.1:8417"

// Environment variables LoadConfig reads.
const (
	EnvServer = "KUBEML_SERVER"
	EnvToken  = "KUBEML_TOKEN"
	EnvCAFile = "KUBEML_CA_FILE"
)

// Files LoadConfig reads in the data dir.
const (
	ConfigFile = "client.json" // {"server": ..., "token": ..., "caFile": ...}
	TokenFile  = "admin-token" // written by a kubeml server on this machine
	CAFileName = "ca.crt"      // that server's CA
)

// fileConfig is the content of <dataDir>/client.json.
type fileConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	CAFile string `json:"caFile"`
}

// LoadConfig resolves Server, Token and CAFile, each on its own, in this
// order:
//
//  1. flags (the fields already set in flags; CAData set there counts as
//     a CA given, so no CAFile is looked up);
//  2. the environment: KUBEML_SERVER, KUBEML_TOKEN, KUBEML_CA_FILE;
//  3. the config file <dataDir>/client.json, {"server", "token",
//     "caFile"}; a relative caFile is relative to dataDir;
//  4. same-machine defaults: server https://127.0.0.1:8417, and, only when
//     the server is a loopback address, the token in <dataDir>/admin-token
//     and the CA <dataDir>/ca.crt, when those files exist (so the local
//     admin token is never sent to another machine).
//
// Other fields of flags are kept. env is usually os.Getenv (nil: no
// environment); dataDir "" skips the files. A missing file is not an
// error; an unreadable or malformed one is.
func LoadConfig(flags Config, env func(string) string, dataDir string) (Config, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	var file fileConfig
	var errs []error
	if dataDir != "" {
		b, err := os.ReadFile(filepath.Join(dataDir, ConfigFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := json.Unmarshal(b, &file); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", filepath.Join(dataDir, ConfigFile), err))
			}
			if file.CAFile != "" && !filepath.IsAbs(file.CAFile) {
				file.CAFile = filepath.Join(dataDir, file.CAFile)
			}
		}
	}
	c := flags
	c.Server = first(c.Server, env(EnvServer), file.Server, DefaultServer)
	c.Token = first(c.Token, env(EnvToken), file.Token)
	if len(c.CAData) == 0 {
		c.CAFile = first(c.CAFile, env(EnvCAFile), file.CAFile)
	}
	if dataDir != "" && isLoopback(c.Server) {
		if c.Token == "" {
			b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			c.Token = strings.TrimSpace(string(b))
		}
		ca := filepath.Join(dataDir, CAFileName)
		if c.CAFile == "" && len(c.CAData) == 0 && strings.HasPrefix(strings.ToLower(c.Server), "https:") {
			if _, err := os.Stat(ca); err == nil {
				c.CAFile = ca
			}
		}
	}
	return c, errors.Join(errs...)
}

// first returns the first non-empty value.
func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// isLoopback reports whether server's host is localhost or a loopback IP.
func isLoopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
