package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/provider/aks"
)

// Config is the server's configuration: defaults, then a config file,
// then flags. Validate it before starting.
type Config struct {
	// Addr is the listen address.
	Addr string `json:"addr"`
	// DataDir holds the database, keys, token and certificates.
	DataDir string `json:"dataDir"`
	// ExternalURL is the base URL clients reach the server at; operation
	// and paging URLs are built from it, never from a request's headers.
	// Default: the scheme and the address the server listens on.
	ExternalURL string `json:"externalUrl,omitempty"`
	// Insecure serves plain HTTP; allowed only on a loopback address.
	Insecure bool `json:"insecure"`
	// TLSCertFile and TLSKeyFile are a serving certificate to use instead
	// of the one the server generates.
	TLSCertFile string `json:"tlsCertFile,omitempty"`
	TLSKeyFile  string `json:"tlsKeyFile,omitempty"`
	// Locations maps location names to providers.
	Locations map[string]string `json:"locations"`
	// RetryAfterSeconds is what Retry-After tells pollers.
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// PageSize bounds list pages.
	PageSize int `json:"pageSize"`
	// MinKubernetesVersion and MaxKubernetesVersion bound the minor
	// versions attach accepts (default attach.DefaultMinVersion and
	// attach.DefaultMaxVersion).
	MinKubernetesVersion string `json:"minKubernetesVersion"`
	MaxKubernetesVersion string `json:"maxKubernetesVersion"`
	// RouterImage is the router image for clusters whose provider does not
	// preload kubeml's own.
	RouterImage string `json:"routerImage,omitempty"`
	// HealthInterval and HealthFailureThreshold tune the probes of
	// attached clusters.
	HealthInterval         Duration `json:"healthInterval"`
	HealthFailureThreshold int      `json:"healthFailureThreshold"`
	// Azure configures aks providers, one per region; each region becomes
	// a location served by provider "aks-<region>" unless Locations maps
	// it already.
	Azure []aks.Config `json:"azure,omitempty"`
	// IdleTimeout closes a keep-alive connection that sends no request
	// for this long; ReadTimeout bounds reading one whole request, body
	// included (a model upload of the largest size on a slow link).
	IdleTimeout Duration `json:"idleTimeout"`
	ReadTimeout Duration `json:"readTimeout"`
	// MaxConnsPerClient caps the connections open from one address; more
	// are closed as they arrive, so no client can use up the server's
	// file descriptors.
	MaxConnsPerClient int `json:"maxConnsPerClient"`
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration `json:"-"`
}

// DefaultAddr is where the server listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8417"

// Defaults returns the configuration used when nothing else is given.
func Defaults(dataDir string) Config {
	return Config{
		Addr: DefaultAddr, DataDir: dataDir,
		Locations:         map[string]string{"local": "local", "simulated": "simulated"},
		RetryAfterSeconds: 1, PageSize: 100, ShutdownTimeout: 10 * time.Second,
		MinKubernetesVersion: attach.DefaultMinVersion, MaxKubernetesVersion: attach.DefaultMaxVersion,
		HealthInterval: Duration(10 * time.Second), HealthFailureThreshold: 3,
		IdleTimeout: Duration(30 * time.Second), ReadTimeout: Duration(10 * time.Minute), MaxConnsPerClient: 256,
	}
}

// Duration is a time.Duration written as "10s" in config files.
type Duration time.Duration

// UnmarshalJSON reads "10s", "1m" and the like.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadFile overlays a JSON config file onto c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read config %s: %w", path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	defaults := c.Locations
	c.Locations = nil // a file's locations replace the defaults, not add to them
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("failed to parse config %s: %w", path, err)
	}
	if c.Locations == nil {
		c.Locations = defaults
	}
	return nil
}

// AzureLocations maps each configured Azure region to its aks provider,
// where Locations does not name the region already.
func (c *Config) AzureLocations() {
	for _, a := range c.Azure {
		r := strings.ToLower(a.Region)
		if _, ok := c.Locations[r]; !ok && r != "" {
			c.Locations[r] = aks.ProviderName(r)
		}
	}
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate(providers []string) error {
	var errs []error
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	} else if c.Insecure && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("insecure (plain HTTP) is allowed only on a loopback address, not %q", host))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("dataDir is required"))
	} else if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("dataDir %q must be an absolute path", c.DataDir))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tlsCertFile and tlsKeyFile go together"))
	}
	for i, a := range c.Azure {
		if err := a.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("azure[%d]: %w", i, err))
		}
	}
	if len(c.Locations) == 0 {
		errs = append(errs, errors.New("at least one location must be configured"))
	}
	lower := map[string]string{}
	for loc, p := range c.Locations {
		if !contains(providers, p) {
			errs = append(errs, fmt.Errorf("location %q: unknown provider %q (known: %s)", loc, p, strings.Join(providers, ", ")))
		}
		lower[strings.ToLower(loc)] = p
	}
	c.Locations = lower
	if c.RetryAfterSeconds < 0 || c.PageSize < 1 {
		errs = append(errs, errors.New("retryAfterSeconds must be >= 0 and pageSize >= 1"))
	}
	if c.HealthInterval <= 0 || c.HealthFailureThreshold < 1 {
		errs = append(errs, errors.New("healthInterval must be positive and healthFailureThreshold >= 1"))
	}
	if c.ExternalURL != "" {
		if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("externalUrl %q must be an http(s) URL with a host and no path, e.g. https://kubeml.example:8417", c.ExternalURL))
		}
	}
	if c.IdleTimeout <= 0 || c.ReadTimeout <= 0 || c.MaxConnsPerClient < 1 {
		errs = append(errs, errors.New("idleTimeout and readTimeout must be positive and maxConnsPerClient >= 1"))
	}
	for _, v := range []string{c.MinKubernetesVersion, c.MaxKubernetesVersion} {
		if strings.Count(v, ".") != 1 {
			errs = append(errs, fmt.Errorf("kubernetes version bound %q must be a minor version such as 1.30", v))
		}
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
