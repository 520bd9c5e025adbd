package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"crieur/federation/delivery/redistest"
)

type readyAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (c *crieurProc) ready() (int, readyAnswer) {
	c.t.Helper()
	resp, err := http.Get(c.URL + "/readyz")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyAnswer
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

// /readyz goes unready when Redis stops, says so, and is ready again when
// it returns; /healthz answers throughout.
func TestReadinessFollowsRedis(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	c := startCrieur(t, t.TempDir(), 0, "CRIEUR_REDIS_URL="+rs.URL())
	if code, r := c.ready(); code != 200 || r.Checks["store"] != "ok" || r.Checks["redis"] != "ok" || r.Checks["dispatcher"] != "ok" {
		t.Fatalf("ready at start: %d %+v", code, r)
	}
	rs.Stop()
	var r readyAnswer
	waitFor(t, 10*time.Second, "unready without Redis", func() bool {
		var code int
		code, r = c.ready()
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(r.Checks["redis"], "redis does not answer") || r.Checks["store"] != "ok" {
		t.Errorf("unready says %+v", r)
	}
	out, err := runCLI("", nil, "ready", "--url", c.URL+"/readyz")
	if err == nil || !strings.Contains(out, "redis: redis does not answer") {
		t.Errorf("crieur ready without Redis: %v\n%s", err, out)
	}
	if resp, err := http.Get(c.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz without Redis: %v %v", resp, err)
	}
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	// Ready again, for the probe and for crieur ready (a restarted Redis
	// may take a moment to settle: both are asked until they agree).
	out = ""
	waitFor(t, 15*time.Second, "ready again with Redis back", func() bool {
		code, _ := c.ready()
		var err error
		out, err = runCLI("", nil, "ready", "--url", c.URL+"/readyz")
		return code == 200 && err == nil
	})
	if !strings.Contains(out, "redis: ok") {
		t.Errorf("crieur ready with Redis back says:\n%s", out)
	}
}

// crieur ready --wait asks until serve is ready, as a systemd
// ExecStartPost needs (asked once, it found nothing listening yet and
// failed the start); without a server it gives up after the wait and
// says what the last answer was.
func TestReadyWaitsForServe(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	type result struct {
		out  string
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		out, err := runCLI("", nil, "ready", "--wait", "60s", "--url", url)
		done <- result{out, err, time.Since(start)}
	}()
	time.Sleep(1500 * time.Millisecond) // it has asked, and found nothing listening
	select {
	case r := <-done:
		t.Fatalf("crieur ready --wait returned before serve started: %v\n%s", r.err, r.out)
	default:
	}
	startCrieur(t, t.TempDir(), port)
	r := <-done
	if r.err != nil || !strings.Contains(r.out, "store: ok") {
		t.Fatalf("crieur ready --wait with serve started: %v\n%s", r.err, r.out)
	}

	start := time.Now()
	out, err := runCLI("", nil, "ready", "--wait", "2s", "--url", fmt.Sprintf("http://127.0.0.1:%d/readyz", freePort(t)))
	if took := time.Since(start); err == nil || took < 2*time.Second || took > 10*time.Second ||
		!strings.Contains(out, "not ready") || !strings.Contains(out, "after 2s") {
		t.Errorf("crieur ready --wait 2s with nothing listening: %v after %s\n%s", err, took, out)
	}
	if out, err := runCLI("", nil, "ready", "--wait", "-1s"); err == nil || !strings.Contains(out, "--wait") {
		t.Errorf("a negative wait: %v\n%s", err, out)
	}
}

// tls = "auto" before its first certificate (the ACME authority out of
// reach here): crieur ready says so, not only "tls: internal error".
func TestReadyBeforeTheFirstCertificateSaysSo(t *testing.T) {
	t.Parallel()
	httpsPort, httpPort := freePort(t), freePort(t)
	env := []string{"CRIEUR_TLS=auto", fmt.Sprintf("CRIEUR_PUBLIC_URL=https://board.crieur.test:%d", httpsPort),
		fmt.Sprintf("CRIEUR_LISTEN=127.0.0.1:%d", httpsPort), fmt.Sprintf("CRIEUR_HTTP_LISTEN=127.0.0.1:%d", httpPort),
		fmt.Sprintf("CRIEUR_ACME_DIRECTORY=https://127.0.0.1:%d/directory", freePort(t))}
	data := t.TempDir()
	startProc(t, []string{"serve", "--data", data}, env...)
	var out string
	waitFor(t, 30*time.Second, "crieur ready to find serve listening", func() bool {
		out, _ = runCLI("", append(env, "CRIEUR_DATA_DIR="+data), "ready")
		return !strings.Contains(out, "connection refused")
	})
	if !strings.Contains(out, "not ready") || !strings.Contains(out, "no certificate for public_url's host yet (tls = auto)") {
		t.Errorf("crieur ready before the first certificate says:\n%s", out)
	}
}
