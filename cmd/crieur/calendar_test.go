package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A board in Europe/Paris publishes its events so that another parser,
// ical.js (Thunderbird's), which knows no zones but the file's VTIMEZONE,
// shows them at the wall-clock time they were typed and at the right
// instant, in winter and in summer. A time typed with another offset keeps
// its instant. A refused zone leaves no board behind.
func TestCalendarZoneReadByICALJS(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	dir := t.TempDir()
	cli := func(args ...string) (string, error) { return runCLI("", nil, append(args, "--data", dir)...) }
	if out, err := cli("board", "create", "mars", "--time-zone", "Mars/Olympus"); err == nil || !strings.Contains(out, "IANA time zone") {
		t.Fatalf("an unknown zone: %v %s", err, out)
	}
	if out, err := cli("board", "create", "news", "--time-zone", "Europe/Paris"); err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	if out, _ := cli("board", "list"); strings.Contains(out, "mars") {
		t.Fatalf("the refused board was created:\n%s", out)
	}
	c := startCrieur(t, dir, 0)
	out, err := cli("token", "create")
	if err != nil {
		t.Fatalf("token: %v %s", err, out)
	}
	c.Token = strings.TrimSpace(out[strings.Index(out, "crieur_"):])
	c.Token = strings.Fields(c.Token)[0]
	starts := []string{"2026-12-05T14:00:00+01:00", "2027-07-01T10:30:00+02:00", "2027-01-10T09:00:00+05:00"}
	for _, s := range starts {
		if _, code := c.post(map[string]any{"kind": "event", "title": "At " + s, "event": map[string]any{"start": s}}, nil); code != 201 {
			t.Fatalf("post %s: %d", s, code)
		}
	}
	resp, err := http.Get(c.URL + "/boards/news/events.ics")
	if err != nil {
		t.Fatal(err)
	}
	ics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cmd := exec.Command("node", "testdata/ical/read.mjs")
	cmd.Stdin = bytes.NewReader(ics)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("ical.js: %v %s\n%s", err, stderr.String(), ics)
	}
	var events []struct {
		Summary, Zone, Wall string
		Unix                int64
	}
	if err := json.Unmarshal(js, &events); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	got := map[string]int{}
	for i, e := range events {
		got[e.Summary] = i
	}
	for i, s := range starts {
		want, _ := time.Parse(time.RFC3339, s)
		j, ok := got["At "+s]
		if !ok {
			t.Fatalf("ical.js did not read the event at %s: %s", s, js)
		}
		e := events[j]
		if e.Unix != want.Unix() {
			t.Errorf("%s: ical.js reads the instant %s", s, time.Unix(e.Unix, 0).UTC())
		}
		if i < 2 && (e.Zone != "Europe/Paris" || e.Wall != s[:19]) {
			t.Errorf("%s: ical.js shows %s in %q, want %s in Europe/Paris", s, e.Wall, e.Zone, s[:19])
		}
		if i == 2 && e.Zone != "UTC" {
			t.Errorf("%s (not Paris's offset): zone %q, want UTC", s, e.Zone)
		}
	}
}
