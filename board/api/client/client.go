// Package client calls Crieur's admin API: the `crieur` commands and the
// end-to-end tests speak to a server through it, so both read its answers
// and its errors the same way.
//
// It speaks HTTP and JSON only: it must not reach into a server's
// packages.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Client is a server's admin API with a token.
type Client struct {
	Server string // http://127.0.0.1:8080
	Token  string
	HTTP   *http.Client
}

// New is a client of server's API with token.
func New(server, token string) *Client {
	return &Client{Server: strings.TrimSuffix(server, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an answer of 300 or more: its status, the server's message and
// its problems field by field.
type Error struct {
	Status  int
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	msg := e.Message
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg += fmt.Sprintf("\n  %s: %s", k, e.Fields[k])
	}
	return fmt.Sprintf("(%d) %s", e.Status, msg)
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// Do sends method path with body and headers and answers the response and
// its body. body is nil, raw bytes sent as JSON unless a Content-Type
// header says otherwise, or a value encoded as JSON. An answer of 300 or
// more is an *Error, with the response and body still returned.
func (c *Client) Do(ctx context.Context, method, path string, body any, headers map[string]string) (*http.Response, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	h := c.HTTP
	if h == nil {
		h = http.DefaultClient
	}
	resp, err := h.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("reach %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		// A cut answer is not a success with nothing to say.
		return nil, nil, fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return resp, data, &Error{Status: resp.StatusCode, Message: e.Error, Fields: e.Fields}
	}
	return resp, data, nil
}

// Call is Do that decodes the answer, whatever its status, into out (when
// not nil and there is one) and returns the status: for scripts and tests
// that look at refusals as well as successes. err is only a failure to
// reach the server or to read its answer.
func (c *Client) Call(ctx context.Context, method, path string, body any, headers map[string]string, out any) (int, error) {
	resp, data, err := c.Do(ctx, method, path, body, headers)
	if resp == nil {
		return 0, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode %q: %w", method, path, data, err)
		}
	}
	return resp.StatusCode, nil
}
