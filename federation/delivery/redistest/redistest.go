// Package redistest starts a private redis-server on a free loopback port
// for tests, with its own directory and append-only file, and stops it when
// the test ends. It never touches a Redis the machine already runs.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process.
type Server struct {
	Addr  string
	Dir   string
	cmd   *exec.Cmd
	port  int
	extra []string
}

// Start runs redis-server, failing the test in CI (CI set) when it is not
// installed and skipping it elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is required (apt-get install redis-server)")
		}
		t.Skip("redis-server not installed")
	}
	s, err := StartServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer runs redis-server on a free loopback port with its files in
// dir; extra arguments override the defaults (e.g. "--appendfsync",
// "everysec"). The caller stops it.
func StartServer(dir string, extra ...string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Dir: dir, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), extra: extra}
	return s, s.start()
}

func (s *Server) start() error {
	// appendfsync always: a SIGKILLed server loses nothing it acknowledged.
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.Dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", "redis.log", "--daemonize", "no")
	s.cmd.Args = append(s.cmd.Args, s.extra...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if rdb.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs, _ := os.ReadFile(s.Dir + "/redis.log")
	return fmt.Errorf("redis-server on %s did not start:\n%s", s.Addr, logs)
}

// Stop ends the server (SIGTERM: Redis flushes its append-only file).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Kill ends the server with SIGKILL, like a crash.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same port and directory, so it
// reloads its append-only file.
func (s *Server) Restart() error {
	return s.start()
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr) }

// Client returns a client closed at the end of the test.
func (s *Server) Client(t testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
