package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRIEUR_") {
			env = append(env, kv)
		}
	}
	return env
}

// The README's run command: `crieur serve` in an empty directory, no
// configuration, creates ./data, a board and a token shown once.
func TestZeroConfigServe(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	start := func() (string, *logBuffer, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, crieurBin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		stdout, stderr := &logBuffer{}, &logBuffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "crieur to listen", func() bool {
			return strings.Contains(stderr.String(), "crieur listening")
		})
		// The token is printed before the server listens.
		stop := func() { cancel(); cmd.Wait() }
		t.Cleanup(stop)
		return stdout.String(), stderr, stop
	}
	out, logs, stop := start()
	var token string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "crieur_") {
			token = line
		}
	}
	if token == "" {
		t.Fatalf("no admin token printed: %q", out)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the admin token reached the log")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "crieur.db")); err != nil {
		t.Fatalf("no database in ./data: %v", err)
	}
	c := &crieurProc{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Token: token}
	var boards []map[string]any
	if code := c.api("GET", "/api/v1/boards", nil, nil, &boards); code != 200 || len(boards) != 1 || boards[0]["name"] != "news" {
		t.Fatalf("boards: %d %v", code, boards)
	}
	stop()

	out, _, _ = start()
	if strings.Contains(out, "crieur_") {
		t.Fatal("a second start printed another token")
	}
	if code := c.api("GET", "/api/v1/boards", nil, nil, nil); code != 200 {
		t.Fatalf("the first token stopped working after a restart: %d", code)
	}

	// crieur post, through the admin API.
	post := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(crieurBin, append([]string{"post"}, args...)...)
		cmd.Env = append(cleanEnv(), "CRIEUR_TOKEN="+token, "CRIEUR_SERVER="+c.URL)
		cmd.Stdin = strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := post("We need **you**.", "--title", "Cooks wanted", "--kind", "call", "--role", "cook:2", "--contact", "a@b.org", "--idempotency-key", "cooks"); err != nil || !strings.Contains(out, "posted announcement 1") {
		t.Fatalf("post: %v %s", err, out)
	}
	if out, err := post("We need **you**.", "--title", "Cooks wanted", "--kind", "call", "--role", "cook:2", "--contact", "a@b.org", "--idempotency-key", "cooks"); err != nil || !strings.Contains(out, "already posted announcement 1") {
		t.Fatalf("repeat post: %v %s", err, out)
	}
	if out, err := post("x", "--title", "Cooks", "--kind", "call", "--role", "cook"); err == nil || !strings.Contains(out, "NAME:PLACES") {
		t.Fatalf("bad role: %v %s", err, out)
	}
	if out, err := post("x", "--kind", "call", "--role", "cook:2"); err == nil || !strings.Contains(out, "title: is required") || !strings.Contains(out, "call.contact") {
		t.Fatalf("invalid post: %v %s", err, out)
	}

	// crieur post --pin and crieur pin.
	if out, err := post("Now open.", "--title", "Campaign", "--pin"); err != nil || !strings.Contains(out, "pinned announcement 2") {
		t.Fatalf("post --pin: %v %s", err, out)
	}
	pin := func(args ...string) (string, error) {
		cmd := exec.Command(crieurBin, append([]string{"pin"}, args...)...)
		cmd.Env = append(cleanEnv(), "CRIEUR_TOKEN="+token, "CRIEUR_SERVER="+c.URL)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := pin("--unpin", "2"); err != nil || !strings.Contains(out, "unpinned announcement 2") {
		t.Fatalf("unpin: %v %s", err, out)
	}
	if out, err := pin("99"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("pin of a missing announcement: %v %s", err, out)
	}
	var pinned []map[string]any
	c.api("GET", "/api/v1/boards/news/announcements", nil, nil, &pinned)
	for _, a := range pinned {
		if a["pinned"] == true {
			t.Fatalf("still pinned after unpin: %v", a)
		}
	}
}

// Commands that read a data directory do not make an empty one when
// --data is mistyped: they say there is no database there.
func TestCommandsRefuseAMissingDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"board", "list"}, {"board", "key", "news"}, {"token", "create"},
		{"deliveries", "dead"}, {"deliveries", "retry", "--all"},
	} {
		cmd := exec.Command(crieurBin, append(args, "--data", dir)...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no Crieur database at "+filepath.Join(dir, "crieur.db")) {
			t.Errorf("crieur %v on a missing directory: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a command created %s", dir)
	}
	// Creating a board is how an operator may start, before serve.
	cmd := exec.Command(crieurBin, "board", "create", "news", "--data", dir)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "created board news") {
		t.Fatalf("board create in a new directory: %v\n%s", err, out)
	}
}
