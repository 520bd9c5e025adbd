package main

// A real Dendrite homeserver on loopback for the Matrix tests, built from
// testdata/dendrite (a module of its own) the first time a test needs it.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

var (
	dendriteOnce sync.Once
	dendriteBin  string
	dendriteErr  error
)

// buildDendrite is the folder of Dendrite's binaries: the one the test
// command built in the background while the rest compiled
// (CRIEUR_TEST_DENDRITE, ready once its .done file holds the build's exit
// status), or one built here, once per run.
func buildDendrite(t *testing.T) string {
	t.Helper()
	dendriteOnce.Do(func() {
		if dir := os.Getenv("CRIEUR_TEST_DENDRITE"); dir != "" {
			dendriteBin, dendriteErr = waitForBuild(dir, 10*time.Minute)
			return
		}
		dir, _ := filepath.Abs("testdata/dendrite")
		tools, err := os.MkdirTemp("", "crieur-dendrite")
		if err != nil {
			dendriteErr = err
			return
		}
		dendriteBin = filepath.Join(tools, "dendrite-bin")
		cmd := exec.Command("go", "install", "tool")
		cmd.Dir = dir
		// With cgo, Dendrite stores in SQLite through mattn/go-sqlite3, the
		// driver it is tested with; built without cgo (modernc), it failed
		// under this suite's load now and then: SQLITE_BUSY on logout, and a
		// panic ("cannot start a transaction within a transaction"). The cgo
		// build takes about 35 s longer, once per run.
		// -O1: gcc compiles SQLite's C in a third of -O2's time.
		cmd.Env = append(os.Environ(), "GOBIN="+dendriteBin, "CGO_ENABLED=1", "CGO_CFLAGS=-O1", "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			dendriteErr = fmt.Errorf("build dendrite: %v\n%s", err, out)
		}
	})
	if dendriteErr != nil {
		t.Fatal(dendriteErr)
	}
	return dendriteBin
}

// waitForBuild waits for a build the test command runs in the background:
// dir/.done holds its exit status, dir/build.log what it said.
func waitForBuild(dir string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		status, err := os.ReadFile(filepath.Join(dir, ".done"))
		if err == nil {
			if strings.TrimSpace(string(status)) != "0" {
				log, _ := os.ReadFile(filepath.Join(dir, "build.log"))
				return "", fmt.Errorf("build in %s (status %s):\n%s", dir, strings.TrimSpace(string(status)), log)
			}
			return dir, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", fmt.Errorf("the build in %s did not end within %s", dir, timeout)
}

type dendrite struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	URL  string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
}

const dendriteServer = "localhost"

func startDendrite(t *testing.T) *dendrite {
	t.Helper()
	return startDendriteWith(t, nil)
}

// startDendriteWith is startDendrite with more of its configuration's
// text replaced (each old text must be there).
func startDendriteWith(t *testing.T, edits map[string]string) *dendrite {
	t.Helper()
	bin := buildDendrite(t)
	d := &dendrite{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), log: &logBuffer{}}
	d.URL = fmt.Sprintf("http://127.0.0.1:%d", d.port)
	run := func(name string, args ...string) []byte {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = d.dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	run("generate-keys", "--private-key", "matrix_key.pem")
	conf := string(run("generate-config", "-ci", "-dir", filepath.Join(d.dir, "data"), "-server", dendriteServer))
	edits = maps.Clone(edits)
	if edits == nil {
		edits = map[string]string{}
	}
	for old, repl := range map[string]string{
		"disable_federation: false":              "disable_federation: true",
		"enable_outbound: true":                  "enable_outbound: false",
		"registration_disabled: false":           "registration_disabled: true",
		"registration_shared_secret: complement": "registration_shared_secret: crieur-test-secret",
	} {
		edits[old] = repl
	}
	for old, repl := range edits {
		if !strings.Contains(conf, old) {
			t.Fatalf("dendrite config has no %q", old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "dendrite.yaml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(d.dir, "data"), 0o700)
	// Registered before the start, so that a start that fails still stops
	// the process and shows its log.
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			var errs []string
			for _, l := range strings.Split(d.log.String(), "\n") {
				if strings.Contains(l, "level=error") || strings.Contains(l, "level=panic") || strings.Contains(l, "level=fatal") {
					errs = append(errs, l)
				}
			}
			t.Logf("dendrite errors:\n%s\ndendrite log:\n%s", tail(strings.Join(errs, "\n"), 10), tail(d.log.String(), 30))
		}
	})
	d.Start()
	return d
}

// Start runs (or runs again) the homeserver on the same port and data.
func (d *dendrite) Start() {
	d.t.Helper()
	d.cmd = exec.Command(filepath.Join(d.bin, "dendrite"), "-config", "dendrite.yaml", "-http-bind-address", fmt.Sprintf("127.0.0.1:%d", d.port))
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	// A bound, not a goal: Dendrite starting beside three other tests on
	// two loaded cores has taken more than 30 s.
	waitFor(d.t, 90*time.Second, "dendrite to answer", func() bool {
		select {
		case <-d.done:
			d.t.Fatalf("dendrite ended before it answered: %v", d.cmd.ProcessState)
		default:
		}
		resp, err := http.Get(d.URL + "/_matrix/client/versions")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// Stop ends the homeserver and waits for it.
func (d *dendrite) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

func (d *dendrite) createAccount(user, password string, flags ...string) {
	d.t.Helper()
	cmd := exec.Command(filepath.Join(d.bin, "create-account"), append([]string{"-config", "dendrite.yaml", "-username", user, "-password", password, "-url", d.URL}, flags...)...)
	cmd.Dir = d.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("create-account %s: %v\n%s", user, err, out)
	}
}

func (d *dendrite) login(user, password string) *mautrix.Client {
	d.t.Helper()
	cli, err := mautrix.NewClient(d.URL, "", "")
	if err != nil {
		d.t.Fatal(err)
	}
	_, err = cli.Login(context.Background(), &mautrix.ReqLogin{
		Type: mautrix.AuthTypePassword, Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: user},
		Password: password, StoreCredentials: true,
	})
	if err != nil {
		d.t.Fatalf("login %s: %v", user, err)
	}
	return cli
}

func userID(name string) id.UserID { return id.NewUserID(name, dendriteServer) }
