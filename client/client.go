package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultAPIVersion is the api-version sent when Config.APIVersion is empty.
const DefaultAPIVersion = "2024-04-01"

// maxBody bounds how much of a response body is read.
const maxBody = 64 << 20

// Config says how to reach a kubeml server. LoadConfig fills it from
// flags, the environment, a config file and same-machine defaults.
type Config struct {
	// Server is the base URL, http:// or https://, optionally with a path
	// prefix, e.g. "https://127.0.0.1:8417".
	Server string
	// Token is sent as "Authorization: Bearer <Token>" when not empty.
	Token string
	// CAFile and CAData (PEM) are the certificates trusted for an https
	// server instead of the system roots. Both may be given.
	CAFile string
	CAData []byte
	// HTTPClient, when set, sends the requests; a CA is applied to a clone
	// of its *http.Transport.
	HTTPClient *http.Client
	// APIVersion is the api-version query parameter; default "2024-04-01".
	APIVersion string
	// UserAgent is sent as User-Agent; default "kubeml-go-client".
	UserAgent string
	// PollInterval, when > 0, is the wait between polls of a long
	// operation, overriding Retry-After and the 2 s default (for tests).
	PollInterval time.Duration
}

// Client talks to one kubeml server. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	token      string
	apiVersion string
	userAgent  string
	hc         *http.Client
	interval   time.Duration
	// sleep waits between polls; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks c and returns a Client. Every problem found is reported, joined.
func New(c Config) (*Client, error) {
	var errs []error
	u, err := url.Parse(c.Server)
	switch {
	case c.Server == "":
		errs = append(errs, errors.New("no server given"))
	case err != nil:
		errs = append(errs, fmt.Errorf("server URL %q: %w", c.Server, err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("server URL %q: scheme must be http or https", c.Server))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("server URL %q has no host", c.Server))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("server URL %q must not have a query or fragment", c.Server))
	}
	if strings.ContainsAny(c.Token, "\r\n") {
		errs = append(errs, errors.New("token contains a line break"))
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	if c.CAFile != "" || len(c.CAData) > 0 {
		pool, err := caPool(c.CAFile, c.CAData)
		if err != nil {
			errs = append(errs, err)
		} else if hc, err = withRoots(hc, pool); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kubeml client: %w", err)
	}
	cl := &Client{base: u, token: c.Token, apiVersion: c.APIVersion, userAgent: c.UserAgent, hc: hc, interval: c.PollInterval, sleep: sleepCtx}
	if cl.apiVersion == "" {
		cl.apiVersion = DefaultAPIVersion
	}
	if cl.userAgent == "" {
		cl.userAgent = "kubeml-go-client"
	}
	return cl, nil
}

// caPool reads the PEM certificates of file and data into a new pool.
func caPool(file string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	var errs []error
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("CA file: %w", err))
		} else if !pool.AppendCertsFromPEM(b) {
			errs = append(errs, fmt.Errorf("CA file %s holds no PEM certificate", file))
		}
	}
	if len(data) > 0 && !pool.AppendCertsFromPEM(data) {
		errs = append(errs, errors.New("CA data holds no PEM certificate"))
	}
	return pool, errors.Join(errs...)
}

// withRoots returns a copy of hc whose transport trusts only pool.
func withRoots(hc *http.Client, pool *x509.CertPool) (*http.Client, error) {
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("cannot apply the CA to an HTTP client transport of type %T", t)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = pool
	cp := *hc
	cp.Transport = tr
	return &cp, nil
}

// Server is the server's base URL.
func (c *Client) Server() string { return c.base.String() }

// Do sends one request and returns the response, whose body has been read
// (and can be read again). path is either relative to the server's base
// URL ("/subscriptions/...", may carry a query) or an absolute URL the
// server handed out (nextLink, Azure-AsyncOperation): its scheme and host
// are replaced by the configured server's, so the token never goes
// elsewhere. query is added, and api-version when absent. in, when not
// nil, is sent as JSON; a 2xx body is decoded into out when out is not
// nil. A non-2xx answer returns the response and an *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) (*http.Response, error) {
	u, err := c.resolve(path, query)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", method, u.Path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return resp, fmt.Errorf("%s %s: reading the response: %w", method, u.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, newError(resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("%s %s: decoding the response: %w", method, u.Path, err)
		}
	}
	return resp, nil
}

// resolve makes the request URL of path and query.
func (c *Client) resolve(path string, query url.Values) (*url.URL, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("bad request path %q: %w", path, err)
	}
	u := *c.base
	if ref.IsAbs() {
		u.Path, u.RawPath = ref.Path, ref.RawPath
	} else {
		if !strings.HasPrefix(ref.Path, "/") {
			return nil, fmt.Errorf("bad request path %q: must start with /", path)
		}
		prefix := strings.TrimSuffix(c.base.EscapedPath(), "/")
		p, err := url.PathUnescape(prefix + ref.EscapedPath())
		if err != nil {
			return nil, err
		}
		u.Path, u.RawPath = p, prefix+ref.EscapedPath()
	}
	q := ref.Query()
	for k, vs := range query {
		q[k] = vs
	}
	if q.Get("api-version") == "" {
		q.Set("api-version", c.apiVersion)
	}
	u.RawQuery = q.Encode()
	return &u, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
