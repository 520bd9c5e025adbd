// Package rig starts Crieur in-process for end-to-end tests: the very
// server `crieur serve` runs (app.Serve), on a loopback port with a data
// folder of the test's, quick retries and private addresses allowed (the
// peers are on loopback too). Tests speak to it through the admin API
// client, as the `crieur` commands do. Every server stops with its test.
//
// Tests only: no production code imports it.
package rig

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crieur/board/api/client"
	"crieur/board/store/storetest"
	"crieur/cmd/crieur/app"
	"crieur/config"
)

// Env are the settings every test server starts with: quick retries, so
// the tests see several, and loopback peers allowed.
var Env = []string{
	"CRIEUR_ALLOW_PRIVATE_ADDRESSES=true",
	"CRIEUR_DELIVERY_RETRY_BASE=100ms",
	"CRIEUR_DELIVERY_RETRY_MAX=400ms",
	"CRIEUR_DELIVERY_TIMEOUT=5s",
	"CRIEUR_LOG_LEVEL=debug",
}

// Buffer collects a server's output, safe to read while it writes.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Crieur is one server of a test.
type Crieur struct {
	t       testing.TB
	Port    int
	URL     string
	DataDir string
	// Token is the first admin token, shown when the data folder was new.
	Token string
	// Log is what the server logged; Stdout what it printed.
	Log, Stdout *Buffer
	// Pid is the server's process (StartProcess), for benchmarks reading
	// what it costs.
	Pid int

	stop func()
	done chan struct{}
	err  error
}

// FreePort is a loopback port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs a server on dataDir and port (0: a free one), with env after
// Env, and returns once it answers. A data folder without a store gets a
// copy of an empty store already at this release's schema (storetest:
// the end-to-end tests start about 150 servers on new data folders, and
// a profile of them put 17 % of their processor time in the schema's
// steps); StartFresh is for the tests of a store's creation.
func Start(t testing.TB, dataDir string, port int, env ...string) *Crieur {
	t.Helper()
	if err := storetest.Seed(filepath.Join(dataDir, "crieur.db")); err != nil {
		t.Fatalf("crieur's test store: %v", err)
	}
	return StartFresh(t, dataDir, port, env...)
}

// StartFresh is Start on dataDir as it is: a folder without a store gets
// a new one, made by the server through every schema step.
func StartFresh(t testing.TB, dataDir string, port int, env ...string) *Crieur {
	t.Helper()
	// The port is bound here and handed over: a port found free and then
	// listened on by the server after its start (migrations take a
	// while) was once taken meanwhile by another test's peer, which then
	// answered this test's API calls.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("listen on port %d for crieur: %v", port, err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	c := &Crieur{t: t, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port), DataDir: dataDir, Log: &Buffer{}, Stdout: &Buffer{}, done: make(chan struct{})}
	all := append(append(append([]string{}, Env...), env...), "CRIEUR_LISTEN="+fmt.Sprintf("127.0.0.1:%d", port), "CRIEUR_DATA_DIR="+dataDir)
	cfg, err := config.Load("", all)
	if err != nil {
		t.Fatalf("crieur's test configuration: %v", err)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(c.Log, &slog.HandlerOptions{Level: level}))
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go func() {
		defer close(c.done)
		c.err = app.Serve(ctx, cfg, app.Options{Version: "test", Log: log, Stdout: c.Stdout, Listener: ln})
		ln.Close() // not served if the start failed
	}()
	c.waitReady()
	return c
}

// StartProcess runs `bin serve` (the crieur binary) instead, for the few
// tests that need what only a process of its own has: an environment
// read once per process (SSL_CERT_FILE, the certificate authorities a
// test server's TLS is signed by).
func StartProcess(t testing.TB, bin, dataDir string, port int, env ...string) *Crieur {
	t.Helper()
	if port == 0 {
		port = FreePort(t)
	}
	c := &Crieur{t: t, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port), DataDir: dataDir, Log: &Buffer{}, Stdout: &Buffer{}, done: make(chan struct{})}
	cmd := exec.Command(bin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", dataDir)
	cmd.Env = append(append(cleanEnv(), Env...), env...)
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.Pid = cmd.Process.Pid
	c.stop = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	go func() {
		defer close(c.done)
		c.err = cmd.Wait()
	}()
	c.waitReady()
	return c
}

// cleanEnv is this process's environment without Crieur's settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRIEUR_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady waits until the server answers, and reads its first token.
func (c *Crieur) waitReady() {
	t := c.t
	t.Helper()
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("crieur log (%s):\n%s", c.URL, Tail(c.Log.String(), 60))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("crieur stopped at start: %v\n%s", c.err, c.Log.String())
		default:
		}
		resp, err := http.Get(c.URL + "/.well-known/nodeinfo")
		if err == nil {
			resp.Body.Close()
			c.Token = firstToken(c.Stdout.String())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("crieur did not become ready:\n%s", c.Log.String())
}

// firstToken is the admin token a new server printed, if it printed one.
func firstToken(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "crieur_") {
			return line
		}
	}
	return ""
}

// Stop ends the server as SIGTERM ends `crieur serve` (it finishes what it
// holds) and returns what Serve returned; stopping it again does nothing.
func (c *Crieur) Stop() error {
	c.stop()
	<-c.done
	return c.err
}

// Done is closed once the server has stopped.
func (c *Crieur) Done() <-chan struct{} { return c.done }

// apiHTTP lets go of an idle connection well before the server does (its
// idle timeout is its 30 s read timeout), so that no call is sent on a
// connection the server is closing: Go does not send a POST again.
var apiHTTP = &http.Client{Transport: &http.Transport{IdleConnTimeout: 10 * time.Second}}

// Client is the admin API of this server with token.
func (c *Crieur) Client(token string) *client.Client {
	cl := client.New(c.URL, token)
	cl.HTTP = apiHTTP
	return cl
}

// Tail is the last lines of s, for a failure report.
func Tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
