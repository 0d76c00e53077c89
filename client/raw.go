package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/url"
)

// raw sends a request with a raw body (not JSON) and returns the response
// unread, for uploads and downloads; the caller closes its body. A non-2xx
// answer returns an *Error.
func (c *Client) raw(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u, err := c.resolve(path, query)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		return nil, newError(resp.StatusCode, data)
	}
	return resp, nil
}

type sha256Writer struct{ hash.Hash }

func newSHA256() sha256Writer      { return sha256Writer{sha256.New()} }
func (s sha256Writer) hex() string { return hex.EncodeToString(s.Sum(nil)) }
