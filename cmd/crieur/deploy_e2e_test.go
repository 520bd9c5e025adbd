package main

// The deployment files, run as written (issue 27): deploy/compose.yaml's
// services as the image's user, crieur ready as its healthcheck, and the
// systemd unit through systemd-analyze.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/api/client"
	"crieur/board/store"
	"crieur/federation/delivery/redistest"
)

// imageUID is the user the Containerfile makes and runs as.
const imageUID = 10001

// composeService is what the tests read of one service of compose.yaml.
type composeService struct {
	Command     []string
	Environment map[string]string
	Healthcheck []string // the test command; nil when none or disabled
	Volumes     []string
}

// readCompose reads deploy/compose.yaml. There is no YAML library among
// Crieur's modules, so this reads the subset the file is written in and
// fails on anything else: two-space indentation, block mappings, and
// sequences written in flow style as JSON arrays.
func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	data, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]composeService{}
	var top, service, key string
	for n, raw := range strings.Split(string(data), "\n") {
		line := stripYAMLComment(raw)
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			t.Fatalf("compose.yaml:%d: not a key: value line: %q", n+1, raw)
		}
		v = strings.TrimSpace(v)
		jsonList := func() []string {
			var list []string
			if err := json.Unmarshal([]byte(v), &list); err != nil {
				t.Fatalf("compose.yaml:%d: %s: write it as a JSON array of strings: %v", n+1, k, err)
			}
			return list
		}
		switch {
		case indent == 0:
			top = k
		case top != "services":
		case indent == 2:
			service = k
			services[service] = composeService{Environment: map[string]string{}}
		case indent == 4:
			key = k
			s := services[service]
			switch k {
			case "command":
				s.Command = jsonList()
			case "volumes":
				s.Volumes = jsonList()
			}
			services[service] = s
		case indent == 6 && key == "environment":
			services[service].Environment[k] = strings.Trim(v, `"`)
		case indent == 6 && key == "healthcheck" && k == "test":
			s := services[service]
			s.Healthcheck = jsonList()
			services[service] = s
		}
	}
	return services
}

// stripYAMLComment cuts a " # comment" that is outside quotes.
func stripYAMLComment(line string) string {
	quoted := false
	for i, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '#' && !quoted && (i == 0 || line[i-1] == ' '):
			return strings.TrimRight(line[:i], " ")
		}
	}
	return line
}

// imageEnv is the Containerfile's ENV line: the settings every container
// of the image starts with.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	return env
}

// The compose file's own healthcheck runs crieur ready (podman drops an
// image's HEALTHCHECK unless built with --format docker), and the workers
// read the keys from where crieur serve writes them, in its volume.
func TestDeployComposeFile(t *testing.T) {
	t.Parallel()
	services := readCompose(t)
	crieur, deliver := services["crieur"], services["deliver"]
	if !slices.Equal(crieur.Healthcheck, []string{"CMD", "/usr/local/bin/crieur", "ready"}) {
		t.Errorf("the crieur service's healthcheck runs %q, want crieur ready", crieur.Healthcheck)
	}
	keys := crieur.Environment["CRIEUR_KEYS_DIR"]
	if keys == "" || deliver.Environment["CRIEUR_KEYS_DIR"] != keys {
		t.Errorf("keys_dir: serve writes to %q, the workers read %q", keys, deliver.Environment["CRIEUR_KEYS_DIR"])
	}
	if len(crieur.Volumes) != 1 || len(deliver.Volumes) != 1 || deliver.Volumes[0] != crieur.Volumes[0]+":ro" || !strings.HasPrefix(keys, strings.Split(crieur.Volumes[0], ":")[1]+"/") {
		t.Errorf("the workers mount %q, want crieur's data volume %q read-only, holding %s", deliver.Volumes, crieur.Volumes, keys)
	}
}

// The systemd unit needs no user made by hand (DynamicUser) and passes
// systemd's own checks.
func TestDeploySystemdUnit(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile("../../deploy/crieur.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nDynamicUser=yes\n") || !strings.Contains(string(unit), "\nStateDirectory=crieur\n") ||
		!strings.Contains(string(unit), "\nEnvironment=CRIEUR_DATA_DIR=/var/lib/crieur\n") {
		t.Error("the unit runs as a user nobody creates: want DynamicUser=yes with StateDirectory=crieur, data in /var/lib/crieur")
	}
	// The commands the unit runs take the flags it gives them (systemd
	// reads "3min" as a time, crieur's flags do not): each is run with
	// --help added, which stops after the flags are read.
	for _, line := range strings.Split(string(unit), "\n") {
		key, command, ok := strings.Cut(line, "=/usr/local/bin/crieur")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		args := append(strings.Fields(command), "--help")
		if out, err := exec.Command(crieurBinary(t), args...).CombinedOutput(); err != nil {
			t.Errorf("the unit's %s: crieur %s: %v\n%s", key, strings.Join(args, " "), err, tail(string(out), 3))
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not checked here")
	}
	// systemd-analyze checks that ExecStart's program exists: the built
	// binary stands in for /usr/local/bin/crieur.
	dir := t.TempDir()
	path := filepath.Join(dir, "crieur.service")
	text := strings.ReplaceAll(string(unit), "=/usr/local/bin/crieur", "="+crieurBinary(t)) // ExecStart and ExecStartPost
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "crieur.service") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// asImageUser is a process of the built binary run as the image's user,
// the way the container runs it.
type asImageUser struct {
	bin string // the binary, readable by that user
}

// newImageUser needs root (to change user) and setpriv; in CI both are
// there, so a missing one fails the test rather than skipping it unseen.
func newImageUser(t *testing.T) asImageUser {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test runs crieur as uid 10001 (the image's user) with setpriv: it must run as root")
		}
		t.Skip("runs crieur as uid 10001 (the image's user) with setpriv: needs root")
	}
	requireTool(t, "setpriv")
	// The shared binary sits in a folder only root may enter.
	dir, err := os.MkdirTemp("", "crieur-deploy-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crieur")
	if err := copyFile(crieurBinary(t), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return asImageUser{bin: bin}
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// command is crieur args run as uid 10001 with env only.
func (u asImageUser) command(env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", imageUID), fmt.Sprintf("--regid=%d", imageUID), "--clear-groups", u.bin}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// start runs a long-lived crieur process; it is stopped by SIGTERM at the
// end of the test, and its output shown if the test failed.
func (u asImageUser) start(t *testing.T, env map[string]string, args ...string) *logBuffer {
	t.Helper()
	out := &logBuffer{}
	cmd := u.command(env, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("crieur %s:\n%s", args[0], tail(out.String(), 40))
		}
	})
	return out
}

// dataVolume is a fresh named volume as the image's /data is: empty,
// owned by its user.
func dataVolume(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "crieur-deploy-volume")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, imageUID, imageUID); err != nil {
		t.Fatal(err)
	}
	return data
}

// serviceEnv is a compose service's environment on this machine: the
// image's ENV, then the service's, with the volume's /data at data and the
// redis service at redisURL; then the tests' settings and extra.
func serviceEnv(t *testing.T, s composeService, data, redisURL string, extra ...string) map[string]string {
	t.Helper()
	env := imageEnv(t)
	for k, v := range s.Environment {
		env[k] = v
	}
	for k, v := range env {
		if v == "/data" || strings.HasPrefix(v, "/data/") {
			env[k] = data + strings.TrimPrefix(v, "/data")
		}
		if strings.HasPrefix(v, "redis://redis:6379/") {
			env[k] = redisURL
		}
	}
	for _, kv := range append(append([]string{}, testEnv...), extra...) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// serviceArgs are a compose service's command with /data at data.
func serviceArgs(s composeService, data string) []string {
	args := slices.Clone(s.Command)
	for i, a := range args {
		if a == "/data" || strings.HasPrefix(a, "/data/") {
			args[i] = data + strings.TrimPrefix(a, "/data")
		}
	}
	return args
}

// waitToken waits for serve to answer /readyz, and reads the admin token
// it printed on its first start.
func waitToken(t *testing.T, url string, out *logBuffer) string {
	t.Helper()
	waitFor(t, 30*time.Second, "crieur serve to be ready at "+url, func() bool {
		resp, err := peerHTTP.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "crieur_") {
			return line
		}
	}
	t.Fatalf("no admin token printed:\n%s", out.String())
	return ""
}

// The compose services as written, on a clean volume, as uid 10001: serve
// makes the board's keys in its volume, a board created with `compose
// exec` gets its key there too, a worker reading the volume signs with it
// and the follower's inbox gets the Create; crieur ready, with the
// service's environment, answers healthy, also when serve speaks TLS.
func TestDeployComposeAsImageUser(t *testing.T) {
	t.Parallel()
	user := newImageUser(t)
	services := readCompose(t)
	rs := redistest.Start(t)
	data := dataVolume(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	// serve's own workers off: the Create must go through crieur deliver.
	serveEnv := serviceEnv(t, services["crieur"], data, rs.URL(), "CRIEUR_LISTEN="+fmt.Sprintf("127.0.0.1:%d", port),
		"CRIEUR_PUBLIC_URL="+url, "CRIEUR_DELIVERY_WORKERS=0")
	serveOut := user.start(t, serveEnv, serviceArgs(services["crieur"], data)...)
	token := waitToken(t, url, serveOut)

	// compose exec crieur crieur board create events
	out, err := user.command(serveEnv, "board", "create", "events").CombinedOutput()
	if err != nil {
		t.Fatalf("board create as uid %d: %v\n%s", imageUID, err, out)
	}
	keysDir := serveEnv["CRIEUR_KEYS_DIR"]
	for _, name := range []string{"news", "events"} {
		st, err := os.Stat(filepath.Join(keysDir, name+".pem"))
		if err != nil {
			t.Fatalf("key of %s: %v (board create said %s)", name, err, out)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != imageUID || st.Mode().Perm() != 0o600 {
			t.Errorf("key of %s: owner %d, mode %v; want %d and 0600", name, sys.Uid, st.Mode().Perm(), imageUID)
		}
	}

	var mu sync.Mutex
	creates := 0
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var act struct{ Type string }
		_ = json.NewDecoder(r.Body).Decode(&act)
		if act.Type == "Create" && r.Header.Get("Signature") != "" {
			mu.Lock()
			creates++
			mu.Unlock()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(inbox.Close)
	addFollower(t, serveEnv["CRIEUR_DATA_DIR"], "events", inbox.URL+"/users/ada")

	for range 2 { // deploy: { replicas: 2 }
		user.start(t, serviceEnv(t, services["deliver"], data, rs.URL()), serviceArgs(services["deliver"], data)...)
	}
	cl := client.New(url, token)
	cl.HTTP = peerHTTP
	if code, err := cl.Call(context.Background(), "POST", "/api/v1/boards/events/announcements", map[string]any{"title": "Assemblée générale", "body": "Jeudi à 19 h."}, nil, nil); code != http.StatusCreated {
		t.Fatalf("post: %d %v", code, err)
	}
	waitFor(t, 30*time.Second, "the Create signed by crieur deliver at the follower's inbox", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return creates > 0
	})

	// The image's HEALTHCHECK and compose's: crieur ready in the service.
	hc := services["crieur"].Healthcheck
	if len(hc) < 3 || hc[0] != "CMD" {
		t.Fatalf("the crieur service's healthcheck is %q", hc)
	}
	out, err = user.command(serveEnv, hc[2:]...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "redis: ok") {
		t.Errorf("crieur ready with the service's environment: %v\n%s", err, out)
	}

	t.Run("TLS", func(t *testing.T) {
		data := dataVolume(t)
		cert, key := selfSigned(t, filepath.Dir(data), "board.example.org")
		port := freePort(t)
		// A Redis database of its own: the first server's queue is not its.
		redisURL := strings.TrimSuffix(rs.URL(), "/0") + "/1"
		env := serviceEnv(t, services["crieur"], data, redisURL, "CRIEUR_LISTEN="+fmt.Sprintf("127.0.0.1:%d", port),
			"CRIEUR_TLS_CERT="+cert, "CRIEUR_TLS_KEY="+key)
		serveOut := user.start(t, env, serviceArgs(services["crieur"], data)...)
		waitFor(t, 30*time.Second, "crieur serve over https", func() bool {
			return strings.Contains(serveOut.String(), "crieur listening")
		})
		var out []byte
		waitFor(t, 10*time.Second, "crieur ready to answer healthy over https", func() bool {
			var err error
			out, err = user.command(env, hc[2:]...).CombinedOutput()
			return err == nil
		})
		if !strings.Contains(string(out), "store: ok") {
			t.Errorf("crieur ready over https says:\n%s", out)
		}
		// Without the TLS settings (systemd-run reads the environment
		// file, not the unit's drop-in with the credentials), ready finds
		// that serve answers https where it listens.
		plain := maps.Clone(env)
		delete(plain, "CRIEUR_TLS_CERT")
		delete(plain, "CRIEUR_TLS_KEY")
		out, err := user.command(plain, hc[2:]...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "store: ok") {
			t.Errorf("crieur ready without the TLS settings, serve answering https: %v\n%s", err, out)
		}
	})
}

// addFollower makes actor a follower of board, as a Follow would: there
// is no other peer in this test, and the inbox only counts Creates.
func addFollower(t *testing.T, dataDir, boardName, actor string) {
	t.Helper()
	ctx := context.Background()
	// serve holds the store open, so its -wal and -shm files exist and
	// keep their owner (uid 10001) when written by root here.
	db, err := store.OpenDB(filepath.Join(dataDir, "crieur.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := store.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.BoardByName(ctx, boardName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddFollower(ctx, b.ID, board.Follower{ActorID: actor, Inbox: actor + "/inbox", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a certificate for host and its key into dir, owned by
// the image's user as a mounted secret would be.
func selfSigned(t *testing.T, dir, host string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, imageUID, imageUID); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// A key file the worker cannot read (exported by the host's user, read by
// the container's) is said once, with what to do; once fixed, the worker
// goes on by itself.
func TestDeployUnreadableKeySaysOnce(t *testing.T) {
	t.Parallel()
	user := newImageUser(t)
	keys := filepath.Join(filepath.Dir(dataVolume(t)), "keys")
	if err := os.Mkdir(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(keys, "news.pem")
	// Root's, mode 0600: what `crieur board key news > keys/news.pem &&
	// chmod 600` typed on the host made.
	if err := os.WriteFile(key, []byte(testKeyPEM(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	// No Redis needed: the keys are looked at before it is reached.
	out := user.start(t, map[string]string{"CRIEUR_REDIS_URL": "redis://127.0.0.1:1/0"}, "deliver", "--keys", keys)
	waitFor(t, 10*time.Second, "the worker to say what is wrong", func() bool {
		return strings.Contains(out.String(), "cannot deliver until this is fixed")
	})
	time.Sleep(5 * time.Second) // two more looks at the file
	if n := strings.Count(out.String(), "cannot deliver"); n != 1 || !strings.Contains(out.String(), fmt.Sprintf("chown -R %d %s", imageUID, key)) {
		t.Fatalf("said %d times, want once, with the chown to run:\n%s", n, out.String())
	}
	if err := os.Chown(key, imageUID, imageUID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the worker to go on once the key is readable", func() bool {
		return strings.Contains(out.String(), "the key files can be read now")
	})
}

// testKeyPEM is a board's private key, as crieur board key prints it.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// crieur ready asks where serve listens, as serve reads it: the image's
// wildcard listen on loopback, https with the public host named when
// serve has TLS.
func TestDeployReadyProbeFollowsServeSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env        []string
		url, sni   string
		skipVerify bool
	}{
		{nil, "http://127.0.0.1:8080/readyz", "", false},
		{[]string{"CRIEUR_LISTEN=0.0.0.0:8080"}, "http://127.0.0.1:8080/readyz", "", false},
		{[]string{"CRIEUR_LISTEN=[::]:9000"}, "http://[::1]:9000/readyz", "", false},
		{[]string{"CRIEUR_LISTEN=10.0.0.5:8080"}, "http://10.0.0.5:8080/readyz", "", false},
		{[]string{"CRIEUR_LISTEN=:8443", "CRIEUR_TLS=auto", "CRIEUR_PUBLIC_URL=https://board.example.org"}, "https://127.0.0.1:8443/readyz", "board.example.org", true},
	} {
		cfg, err := loadConfig(flag.NewFlagSet("ready", flag.ContinueOnError), nil, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		p, err := readyProbe(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sni, skip := "", false
		if p.tls != nil {
			sni, skip = p.tls.ServerName, p.tls.InsecureSkipVerify
		}
		if p.url != tc.url || sni != tc.sni || skip != tc.skipVerify {
			t.Errorf("%q: asks %s (server name %q, certificate unchecked %v), want %s (%q, %v)", tc.env, p.url, sni, skip, tc.url, tc.sni, tc.skipVerify)
		}
	}
}
