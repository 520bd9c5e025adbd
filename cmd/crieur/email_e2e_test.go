package main

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
)

// mailpitServer is Mailpit (github.com/axllent/mailpit, installed by the
// test command) on loopback: an SMTP server with STARTTLS and
// authentication, and an API to read what it received.
type mailpitServer struct {
	t                  *testing.T
	bin, dir           string
	SMTPPort, HTTPPort int
	args               []string
	cmd                *exec.Cmd
}

func startMailpit(t *testing.T, certFile, keyFile string, tlsFlag ...string) *mailpitServer {
	t.Helper()
	bin := os.Getenv("CRIEUR_TEST_MAILPIT")
	if bin == "" {
		bin, _ = exec.LookPath("mailpit")
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("mailpit is required (scripts/test.sh installs it)")
		}
		t.Skip("mailpit not installed (scripts/test.sh installs it)")
	}
	m := &mailpitServer{t: t, bin: bin, dir: t.TempDir(), SMTPPort: freePort(t), HTTPPort: freePort(t)}
	auth := filepath.Join(m.dir, "smtp-auth")
	if err := os.WriteFile(auth, []byte("crieur:s3cret-pass-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.args = []string{"--smtp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort), "--listen", fmt.Sprintf("127.0.0.1:%d", m.HTTPPort),
		"--database", filepath.Join(m.dir, "mailpit.db"), "--smtp-auth-file", auth, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile,
		"--disable-version-check", "--smtp-disable-rdns"}
	if len(tlsFlag) == 0 {
		tlsFlag = []string{"--smtp-require-starttls"}
	}
	m.args = append(m.args, tlsFlag...)
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mailpitServer) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = io.Discard, io.Discard
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	waitFor(m.t, 15*time.Second, "mailpit", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/messages", m.HTTPPort))
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

func (m *mailpitServer) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
		m.cmd = nil
	}
}

type mailSummary struct {
	ID, MessageID, Subject string
	To                     []struct{ Address string }
}

func (m *mailpitServer) messages() []mailSummary {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/messages?limit=200", m.HTTPPort))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct{ Messages []mailSummary }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.Messages
}

func (m *mailpitServer) raw(id string) string {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/message/%s/raw", m.HTTPPort, id))
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// to lists the messages for one address with a subject containing s.
func (m *mailpitServer) to(addr, s string) []mailSummary {
	var out []mailSummary
	for _, msg := range m.messages() {
		for _, to := range msg.To {
			if to.Address == addr && strings.Contains(msg.Subject, s) {
				out = append(out, msg)
			}
		}
	}
	return out
}

func TestMailToListsThroughARealSMTPServer(t *testing.T) {
	t.Parallel()
	caFile, certFile, keyFile := testCA(t, t.TempDir())
	mp := startMailpit(t, certFile, keyFile)
	c := startCrieurProcess(t, t.TempDir(), 0, "SSL_CERT_FILE="+caFile) // trusts Mailpit's test CA
	const password = "s3cret-pass-1"
	setup := map[string]any{
		"smtp": map[string]any{"host": "localhost", "port": mp.SMTPPort, "security": "starttls", "username": "crieur", "password": password, "from": "Climate group <board@example.org>"},
		"lists": []map[string]any{
			{"name": "users", "to": "users@lists.example.org", "kinds": []string{"outage", "call"}, "list_unsubscribe": "<mailto:users-unsubscribe@lists.example.org>"},
			{"name": "members", "to": "members@example.org"},
		},
	}
	var view map[string]any
	if code := c.api("PUT", "/api/v1/boards/news/email", setup, nil, &view); code != 200 || view["password_set"] != true {
		t.Fatalf("PUT email: %d %v", code, view)
	}
	if code := c.api("PUT", "/api/v1/boards/news/email", map[string]any{"smtp": map[string]any{"host": "", "from": "nobody"}, "lists": []map[string]any{{"name": "x", "to": "not an address", "kinds": []string{"party"}}}}, nil, &view); code != 400 {
		t.Errorf("a bad set-up: %d", code)
	}
	// A wrong password: the test button says what the server said.
	smtp := setup["smtp"].(map[string]any)
	smtp["password"] = "wrong-pass-2"
	c.api("PUT", "/api/v1/boards/news/email", setup, nil, nil)
	var test map[string]any
	if code := c.api("POST", "/api/v1/boards/news/email/test", map[string]any{"list": "members"}, nil, &test); code != 502 ||
		!strings.Contains(fmt.Sprint(test["error"]), "535") || strings.Contains(fmt.Sprint(test["error"]), "wrong-pass-2") {
		t.Errorf("test message with a wrong password: %d %v, want the server's 535 without the password", code, test)
	}
	smtp["password"] = password
	c.api("PUT", "/api/v1/boards/news/email", setup, nil, nil)
	if code := c.api("POST", "/api/v1/boards/news/email/test", map[string]any{"list": "members"}, nil, &test); code != 200 || test["sent"] != true {
		t.Fatalf("test message: %d %v", code, test)
	}

	cli := func(args ...string) (string, error) { return c.cli("", args...) }
	if out, err := cli("email", "show"); err != nil || !strings.Contains(out, "password set") || !strings.Contains(out, "list users: users@lists.example.org, kinds [outage call]") || strings.Contains(out, password) {
		t.Errorf("email show: %v\n%s", err, out)
	}
	if out, err := cli("email", "test", "users"); err != nil || !strings.Contains(out, "test message sent to users") {
		t.Errorf("email test: %v\n%s", err, out)
	}

	// News goes to members only; an outage to both lists.
	c.post(map[string]any{"title": "New members' evening", "body": "Come!"}, nil)
	a, code := c.post(map[string]any{"kind": "outage", "title": "Mail down", "body": "We are **on it**: see [the status page](/boards/news/status).", "language": "en",
		"outage": map[string]any{"service": "mail", "from": time.Now().Format(time.RFC3339)}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 20*time.Second, "the messages", func() bool {
		return len(mp.to("users@lists.example.org", "Mail down")) == 1 && len(mp.to("members@example.org", "Mail down")) == 1 &&
			len(mp.to("members@example.org", "members' evening")) == 1
	})
	if n := len(mp.to("users@lists.example.org", "members' evening")); n != 0 {
		t.Errorf("news reached the outages-and-calls list %d times", n)
	}
	msg, err := mail.ReadMessage(strings.NewReader(mp.raw(mp.to("users@lists.example.org", "Mail down")[0].ID)))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if h.Get("Subject") != "[Service outage] Mail down" || h.Get("List-Unsubscribe") != "<mailto:users-unsubscribe@lists.example.org>" ||
		h.Get("Content-Language") != "en" || !strings.HasSuffix(h.Get("Message-Id"), "@example.org>") || h.Get("Date") == "" {
		t.Errorf("headers: %v", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // quoted-printable decoded by NextPart
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "Service: mail") || !strings.Contains(parts["text/plain"], c.objectURL(a.ID)) ||
		!strings.Contains(parts["text/html"], "<strong>on it</strong>") || !strings.Contains(parts["text/html"], c.objectURL(a.ID)) {
		t.Errorf("parts: %v", parts)
	}
	// Issue 24, point 8: a relative link points at the board in both parts.
	status := c.URL + "/boards/news/status"
	if !strings.Contains(parts["text/plain"], "[the status page]("+status+")") || !strings.Contains(parts["text/html"], `href="`+status+`"`) {
		t.Errorf("the relative link is not absolute in the mail: %v", parts)
	}

	// A French outage reads French in a mail client: subject (MIME-decoded),
	// labels, time and footer. Announced before it begins, it is a
	// maintenance.
	c.post(map[string]any{"kind": "outage", "title": "Messagerie coupée", "body": "Nous nous en occupons.", "language": "fr",
		"outage": map[string]any{"service": "messagerie", "from": "2026-12-18T18:00:00Z"}}, nil)
	waitFor(t, 20*time.Second, "the French message", func() bool { return len(mp.to("users@lists.example.org", "Messagerie coup")) == 1 })
	frMsg, err := mail.ReadMessage(strings.NewReader(mp.raw(mp.to("users@lists.example.org", "Messagerie coup")[0].ID)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(frMsg.Header.Get("Subject"))
	if subject != "[Maintenance] Messagerie coupée" || frMsg.Header.Get("Content-Language") != "fr" {
		t.Errorf("French subject %q, Content-Language %q", subject, frMsg.Header.Get("Content-Language"))
	}
	_, frParams, _ := mime.ParseMediaType(frMsg.Header.Get("Content-Type"))
	frParts := map[string]string{}
	for mr := multipart.NewReader(frMsg.Body, frParams["boundary"]); ; {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p)
		frParts[ct] = string(b)
	}
	for _, want := range []string{"Service\u202f: messagerie", "Début\u202f: ven. 18 déc. 2026, 18:00 (UTC)", "À lire sur le tableau\u202f: ", "publié avec Crieur"} {
		if !strings.Contains(frParts["text/plain"], want) {
			t.Errorf("the French mail lacks %q:\n%s", want, frParts["text/plain"])
		}
	}
	boardtest.NoEnglish(t, "the French mail", subject+"\n"+frParts["text/plain"])

	// The server is down while an outage is announced; once it is back,
	// the message arrives, once.
	mp.stop()
	b, _ := c.post(map[string]any{"kind": "outage", "title": "Website down", "outage": map[string]any{"service": "web", "from": time.Now().Format(time.RFC3339)}}, nil)
	waitFor(t, 15*time.Second, "a failed attempt", func() bool { return c.deliveries(b.ID).Counts["retrying"] >= 1 })
	mp.start()
	waitFor(t, 30*time.Second, "the message after the server came back", func() bool {
		return len(mp.to("users@lists.example.org", "Website down")) == 1
	})
	c.waitQueueIdle()
	if n := len(mp.to("users@lists.example.org", "Website down")); n != 1 {
		t.Errorf("received %d times", n)
	}
	// Issue 24, point 10: the mailing list is counted as e-mail, not "other".
	if d := c.deliveries(b.ID); d.ByDestination["email"]["delivered"] == 0 || d.ByDestination["email"]["delivered"] != d.Counts["delivered"] || d.ByDestination["other"] != nil {
		t.Errorf("deliveries by destination: %v", d.ByDestination)
	}
	// The password never shows.
	var got map[string]any
	c.api("GET", "/api/v1/boards/news/email", nil, nil, &got)
	raw, _ := json.Marshal(got)
	dl, _ := json.Marshal(c.deliveries(b.ID))
	for where, text := range map[string]string{"GET email": string(raw), "deliveries": string(dl), "log": c.stderr.String()} {
		if strings.Contains(text, password) {
			t.Errorf("the SMTP password appears in the %s", where)
		}
	}
}

// Implicit TLS (port 465 style): the connection is TLS from its first byte.
func TestMailOverImplicitTLS(t *testing.T) {
	t.Parallel()
	caFile, certFile, keyFile := testCA(t, t.TempDir())
	mp := startMailpit(t, certFile, keyFile, "--smtp-require-tls")
	c := startCrieurProcess(t, t.TempDir(), 0, "SSL_CERT_FILE="+caFile) // trusts Mailpit's test CA
	setup := map[string]any{
		"smtp":  map[string]any{"host": "localhost", "port": mp.SMTPPort, "security": "tls", "username": "crieur", "password": "s3cret-pass-1", "from": "board@example.org"},
		"lists": []map[string]any{{"name": "members", "to": "members@example.org"}},
	}
	if code := c.api("PUT", "/api/v1/boards/news/email", setup, nil, nil); code != 200 {
		t.Fatalf("PUT email: %d", code)
	}
	var test map[string]any
	if code := c.api("POST", "/api/v1/boards/news/email/test", map[string]any{"list": "members"}, nil, &test); code != 200 || test["sent"] != true {
		t.Fatalf("test message over implicit TLS: %d %v", code, test)
	}
	if n := len(mp.to("members@example.org", "Test message")); n != 1 {
		t.Errorf("received %d test messages", n)
	}
}

// Web registrants who left an address hear, by mail through the board's
// SMTP settings and in the language they signed up in, that their
// registration is taken (with a link that withdraws it in one click and a
// confirm), that a seat became theirs, that the training is cancelled, and
// that it is back on; one who left a phone number gets nothing (issue 22,
// point 12). Read in Mailpit, as the registrants' mail clients would.
func TestWebRegistrantsAreToldByMail(t *testing.T) {
	t.Parallel()
	caFile, certFile, keyFile := testCA(t, t.TempDir())
	mp := startMailpit(t, certFile, keyFile)
	c := startCrieurProcess(t, t.TempDir(), 0, "SSL_CERT_FILE="+caFile)
	setup := map[string]any{
		"smtp":  map[string]any{"host": "localhost", "port": mp.SMTPPort, "security": "starttls", "username": "crieur", "password": "s3cret-pass-1", "from": "Climate group <board@example.org>"},
		"lists": []map[string]any{{"name": "outages", "to": "outages@lists.example.org", "kinds": []string{"outage"}}},
	}
	if code := c.api("PUT", "/api/v1/boards/news/email", setup, nil, nil); code != 200 {
		t.Fatalf("PUT email: %d", code)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	a, code := c.post(map[string]any{"kind": "training", "title": "Git pour débuter", "body": "Apprendre à committer.", "language": "fr",
		"event":    map[string]any{"start": start.Format(time.RFC3339), "place": "Salle B12"},
		"training": map[string]any{"seats": 1, "waitlist": true}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	page := c.objectURL(a.ID)
	signUp := func(name, contact, lang string) {
		t.Helper()
		resp, err := http.Get(page + "?lang=" + lang)
		if err != nil {
			t.Fatal(err)
		}
		html := readAll(t, resp)
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(html)
		if key == nil {
			t.Fatalf("no sign-up form:\n%s", html)
		}
		resp, err = http.PostForm(page+"/signup?lang="+lang, url.Values{"name": {name}, "contact": {contact}, "key": {key[1]}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("sign-up of %s: %v %v", name, resp.StatusCode, err)
		}
		readAll(t, resp)
	}
	signUp("Ana", "ana@example.org", "fr")
	signUp("Bo", "Bo <bo@example.org>", "en") // waiting list, in English
	signUp("Cy", "06 12 34 56 78", "fr")      // waiting list, by phone: no mail
	textOf := func(addr, subject string, n int) string {
		t.Helper()
		var list []mailSummary
		waitFor(t, 20*time.Second, fmt.Sprintf("%d mail(s) to %s about %q", n, addr, subject), func() bool {
			list = mp.to(addr, subject)
			return len(list) >= n
		})
		raw := mp.raw(list[0].ID)
		for _, m := range list {
			if strings.Contains(m.Subject, subject) {
				raw = mp.raw(m.ID)
			}
		}
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		p, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		return strings.ReplaceAll(string(b), "=\r\n", "")
	}
	ana := textOf("ana@example.org", "Git pour débuter", 1)
	if !strings.Contains(ana, "Vous êtes inscrit") || !strings.Contains(ana, "/withdraw?t=") {
		t.Fatalf("Ana's confirmation, in French with a withdraw link:\n%s", ana)
	}
	if bo := textOf("bo@example.org", "Git pour débuter", 1); !strings.Contains(bo, "waiting list") || !strings.Contains(bo, "/withdraw?t=") {
		t.Fatalf("Bo's mail, in English, on the waiting list:\n%s", bo)
	}
	// Ana follows her link (a confirm, as the page asks): Bo moves up.
	link := regexp.MustCompile(`https?://\S+/withdraw\?t=[^\s]+`).FindString(ana)
	u, _ := url.Parse(link)
	resp, err := http.PostForm(u.Scheme+"://"+u.Host+u.Path, url.Values{"t": {u.Query().Get("t")}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("withdraw with the mailed link: %v %v", resp.StatusCode, err)
	}
	readAll(t, resp)
	textOf("bo@example.org", "Git pour débuter", 2)
	waitFor(t, 20*time.Second, "Bo hears he moved up", func() bool {
		for _, m := range mp.to("bo@example.org", "Git pour débuter") {
			if strings.Contains(mp.raw(m.ID), "a seat freed up") {
				return true
			}
		}
		return false
	})
	// Cancelled, then back on: Bo hears both; Cy (by phone) nothing.
	base := fmt.Sprintf("/api/v1/boards/news/announcements/%d/cancelled", a.ID)
	if code := c.api("PUT", base, nil, nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if code := c.api("DELETE", base, nil, nil, nil); code != 200 {
		t.Fatalf("undo the cancellation: %d", code)
	}
	for _, want := range []string{"is cancelled", "takes place after all"} {
		waitFor(t, 20*time.Second, "Bo hears "+want, func() bool {
			for _, m := range mp.to("bo@example.org", "Git pour débuter") {
				if strings.Contains(strings.ReplaceAll(mp.raw(m.ID), "=\r\n", ""), want) {
					return true
				}
			}
			return false
		})
	}
	for _, m := range mp.messages() {
		for _, to := range m.To {
			if to.Address != "ana@example.org" && to.Address != "bo@example.org" {
				t.Errorf("a mail went to %s: %q", to.Address, m.Subject)
			}
		}
	}
	if n := len(mp.to("ana@example.org", "")); n != 1 {
		t.Errorf("Ana, who withdrew, got %d mails; want her confirmation only", n)
	}
}
