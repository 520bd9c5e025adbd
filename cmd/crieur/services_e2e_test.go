package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 25, services: a board's services are set through the admin API
// and the CLI; an outage notice must name one of them; the service's
// page, the status page and status.json read over HTTP say the same.
func TestServicesEndToEnd(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	var got map[string]any
	if code := c.api("PUT", "/api/v1/boards/news/services/mail", map[string]any{"name": "Mail", "description": "Our mailboxes.",
		"address": "https://mail.example.org", "position": 1}, nil, &got); code != 201 || got["slug"] != "mail" {
		t.Fatalf("add mail: %d %v", code, got)
	}
	if code := c.api("PUT", "/api/v1/boards/news/services/Cloud%20drive", map[string]any{"name": "Cloud"}, nil, &got); code != 400 || !strings.Contains(jsonText(got), "slug") {
		t.Errorf("a bad slug: %d %v", code, got)
	}
	if out, err := c.cli("", "service", "set", "cloud", "--name", "Cloud", "--position", "2"); err != nil || !strings.Contains(out, "service cloud added on news") {
		t.Fatalf("crieur service set: %v %s", err, out)
	}
	if out, err := c.cli("", "service", "set", "wiki", "--name", "Wiki", "--position", "3"); err != nil {
		t.Fatalf("crieur service set wiki: %v %s", err, out)
	}
	if out, err := c.cli("", "service", "remove", "wiki"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("crieur service remove: %v %s", err, out)
	}
	out, err := c.cli("", "service", "list")
	if err != nil || !strings.Contains(out, "mail") || !strings.Contains(out, "cloud") || strings.Contains(out, "wiki") {
		t.Fatalf("crieur service list: %v\n%s", err, out)
	}
	var list []map[string]any
	if code := c.api("GET", "/api/v1/boards/news/services", nil, nil, &list); code != 200 || len(list) != 2 || list[0]["slug"] != "mail" {
		t.Fatalf("list: %d %v", code, list)
	}

	now := time.Now()
	if _, code := c.post(map[string]any{"kind": "outage", "title": "Wiki down", "outage": map[string]any{"service": "wiki", "from": now.Add(-time.Hour).Format(time.RFC3339)}},
		map[string]string{"Accept-Language": "en"}); code != 400 {
		t.Errorf("an outage of a service the board does not list: %d", code)
	}
	var refusal map[string]any
	c.api("POST", "/api/v1/boards/news/announcements", map[string]any{"kind": "outage", "title": "Wiki down",
		"outage": map[string]any{"service": "wiki", "from": now.Add(-time.Hour).Format(time.RFC3339)}}, nil, &refusal)
	if !strings.Contains(jsonText(refusal), "mail, cloud") {
		t.Errorf("the refusal does not name the board's services: %v", refusal)
	}
	down, code := c.post(map[string]any{"kind": "outage", "title": "Mail is down", "body": "We are on it.",
		"outage": map[string]any{"service": "mail", "from": now.Add(-time.Hour).Format(time.RFC3339)}}, nil)
	if code != 201 {
		t.Fatalf("post the mail outage: %d", code)
	}
	if _, code := c.post(map[string]any{"kind": "outage", "title": "Cloud upgrade", "body": "Two hours.",
		"outage": map[string]any{"service": "cloud", "from": now.Add(24 * time.Hour).Format(time.RFC3339)}}, nil); code != 201 {
		t.Fatalf("post the cloud maintenance: %d", code)
	}

	code, mail := page(t, c.URL+"/boards/news/services/mail", "text/html")
	if code != 200 || !inOrder(mail, "<h1>", "Mail</h1>", "Current state", "state-disrupted", "Disrupted since", "Going on now", "Mail is down") {
		t.Errorf("the mail page: %d\n%s", code, mail)
	}
	code, services := page(t, c.URL+"/boards/news/services", "text/html")
	if code != 200 || !inOrder(services, ">Mail</a>", "state-disrupted", ">Cloud</a>", "state-maintenance", "Maintenance is planned from") {
		t.Errorf("the services page: %d\n%s", code, services)
	}
	code, status := page(t, c.URL+"/boards/news/status", "text/html")
	if code != 200 || !inOrder(status, "Mail is down", "Cloud upgrade") {
		t.Errorf("the status page lists the planned maintenance above the outage going on: %d\n%s", code, status)
	}

	req, _ := http.NewRequest("GET", c.URL+"/boards/news/status.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Page struct {
			ID        string    `json:"id"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"page"`
		Status struct {
			Indicator string `json:"indicator"`
		} `json:"status"`
		Components []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"components"`
		Incidents []struct {
			Name      string `json:"name"`
			Shortlink string `json:"shortlink"`
		} `json:"incidents"`
		ScheduledMaintenances []struct {
			Name         string    `json:"name"`
			Status       string    `json:"status"`
			ScheduledFor time.Time `json:"scheduled_for"`
		} `json:"scheduled_maintenances"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || doc.Page.ID != "news" || doc.Status.Indicator != "major" || len(doc.Components) != 2 ||
		doc.Components[0].ID != "mail" || doc.Components[0].Status != "major_outage" || doc.Components[1].Status != "operational" ||
		len(doc.Incidents) != 1 || doc.Incidents[0].Name != "Mail is down" || !strings.HasSuffix(doc.Incidents[0].Shortlink, c.objectURL(down.ID)[len(c.URL):]) ||
		len(doc.ScheduledMaintenances) != 1 || doc.ScheduledMaintenances[0].Status != "scheduled" {
		t.Errorf("status.json: %d %v %+v", resp.StatusCode, err, doc)
	}
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if again, err := http.DefaultClient.Do(req); err != nil || again.StatusCode != http.StatusNotModified {
		t.Errorf("status.json with its ETag: %v %v", err, again)
	} else {
		again.Body.Close()
	}
}

// jsonText is a decoded JSON answer as text, to look for words in it.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// inOrder reports whether every one of words is in page, each after the
// one before.
func inOrder(page string, words ...string) bool {
	from := 0
	for _, w := range words {
		i := strings.Index(page[from:], w)
		if i < 0 {
			return false
		}
		from += i + len(w)
	}
	return true
}

// The editor's services page in Chromium, in English and French, at 390
// and 1280 px: axe-core finds nothing at any impact and nothing scrolls
// sideways on a phone.
func TestEditorServicesPageIsAccessible(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	for slug, body := range map[string]map[string]any{
		"mail":  {"name": "Mail", "description": "Our mailboxes, with a rather long description that should wrap on a phone.", "address": "https://mail.example.org", "position": 1},
		"cloud": {"name": "Cloud", "position": 2},
	} {
		if code := c.api("PUT", "/api/v1/boards/news/services/"+slug, body, nil, nil); code != 201 {
			t.Fatalf("add %s: %d", slug, code)
		}
	}
	if _, code := c.post(map[string]any{"kind": "outage", "title": "Mail is down", "outage": map[string]any{"service": "mail", "from": time.Now().Add(-time.Hour).Format(time.RFC3339)}}, nil); code != 201 {
		t.Fatalf("post: %d", code)
	}
	// The public services pages are in TestPublicPagesAreAccessible, with
	// every other page type.
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, signInEditor(c)); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{390, 1280} {
		if err := chromedp.Do(ctx, emulateWidth(width)); err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{c.URL + "/edit/news/services", c.URL + "/edit/news/services?lang=fr"} {
			if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
				t.Fatalf("%s: %v", page, err)
			}
			for _, v := range axeViolations(t, ctx) {
				t.Errorf("%s at %d px: %s", page, width, v)
			}
			if width == 390 {
				noSidewaysScroll(ctx, t, fmt.Sprintf("%s scrolls sideways at 390 px", page))
			}
		}
	}
}
