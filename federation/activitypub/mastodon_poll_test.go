package activitypub

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/store"
)

// mastodonCopy is what a Mastodon server keeps of a remote status with a
// poll, and how it applies what it receives, after its source:
// app/services/activitypub/process_status_update_service.rb (call,
// handle_explicit_update!, handle_implicit_update!, update_poll!,
// update_immediate_attributes!, already_updated_more_recently?),
// app/lib/activitypub/parser/status_parser.rb (edited_at is `updated`)
// and app/lib/activitypub/parser/poll_parser.rb (options, tallies,
// voters, expires_at from `closed` else `endTime`).
type mastodonCopy struct {
	text, spoiler string
	media         []string
	editedAt      time.Time
	edits         int // "Edited" marks: each one in the edit history and a notice to everyone who boosted it
	options       []string
	multiple      bool
	tallies       []int
	voters        int
	expiresAt     time.Time
}

type mastodonPoll struct {
	options   []string
	multiple  bool
	tallies   []int
	voters    int
	expiresAt time.Time
}

func parseMastodonPoll(obj map[string]any) mastodonPoll {
	var p mastodonPoll
	items, multiple := obj["anyOf"].([]any)
	if !multiple {
		items, _ = obj["oneOf"].([]any)
	}
	p.multiple = multiple
	for _, it := range items {
		m, _ := it.(map[string]any)
		name, _ := m["name"].(string)
		replies, _ := m["replies"].(map[string]any)
		n, _ := replies["totalItems"].(float64)
		p.options = append(p.options, name)
		p.tallies = append(p.tallies, int(n))
	}
	v, _ := obj["votersCount"].(float64)
	p.voters = int(v)
	if c, ok := obj["closed"].(string); ok {
		p.expiresAt, _ = time.Parse(time.RFC3339, c)
	} else if e, ok := obj["endTime"].(string); ok {
		p.expiresAt, _ = time.Parse(time.RFC3339, e)
	}
	return p
}

func mediaOf(obj map[string]any) []string {
	var out []string
	list, _ := obj["attachment"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		u, _ := m["url"].(string)
		out = append(out, u)
	}
	return out
}

func (m *mastodonCopy) setPoll(p mastodonPoll) {
	m.options, m.multiple, m.tallies, m.voters, m.expiresAt = p.options, p.multiple, p.tallies, p.voters, p.expiresAt
}

func (m *mastodonCopy) create(obj map[string]any) {
	m.text, _ = obj["content"].(string)
	m.spoiler, _ = obj["summary"].(string)
	m.media = mediaOf(obj)
	m.setPoll(parseMastodonPoll(obj))
}

// update applies an Update's object (or the object fetched again, which
// fetch_remote_poll_service.rb hands to the same service) and says which
// way Mastodon took it.
func (m *mastodonCopy) update(obj map[string]any) string {
	var edited time.Time
	if u, ok := obj["updated"].(string); ok {
		edited, _ = time.Parse(time.RFC3339, u)
	}
	if !m.editedAt.IsZero() && !edited.IsZero() && m.editedAt.After(edited) {
		return "dropped" // already_updated_more_recently?
	}
	p := parseMastodonPoll(obj)
	pollChanged := !slices.Equal(p.options, m.options) || p.multiple != m.multiple
	if edited.IsZero() || (!m.editedAt.IsZero() && !edited.After(m.editedAt)) {
		// handle_implicit_update!: update_poll!(allow_significant_changes: false)
		if !pollChanged {
			m.setPoll(p)
		}
		return "implicit"
	}
	m.setPoll(p)
	if pollChanged { // poll.reset_votes!
		m.tallies, m.voters = make([]int, len(p.options)), 0
	}
	text, _ := obj["content"].(string)
	spoiler, _ := obj["summary"].(string)
	media := mediaOf(obj)
	significant := text != m.text || spoiler != m.spoiler || !slices.Equal(media, m.media) || pollChanged
	m.text, m.spoiler, m.media = text, spoiler, media
	if significant {
		m.editedAt = edited
		m.edits++
	}
	return "explicit"
}

// Counts live in the poll and change as poll state: Mastodon applies a
// count refresh without an "Edited" mark, a role change is followed by the
// counts it reset, and the object fetched again is applied, not thrown
// away (issue 22, points 11, 13, 14 and 15).
func TestMastodonTakesCountsAsPollState(t *testing.T) {
	s, svc, st, b := followedBoard(t)
	ctx := context.Background()
	deadline := time.Now().Add(48 * time.Hour)
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted", Body: "Help us cook.", Language: "en",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}, {Name: "driver", Places: 1}}, Contact: "fair@example.org", Deadline: &deadline}}, "")
	if err != nil {
		t.Fatal(err)
	}
	objectOf := func(act map[string]any) map[string]any { o, _ := act["object"].(map[string]any); return o }
	acts := activities(t, s, svc)
	var m mastodonCopy
	m.create(objectOf(acts[0]))
	if !strings.Contains(m.text, "cook (2 places), driver (1 place)") {
		t.Fatalf("the post's text does not give the places: %s", m.text)
	}
	ledger := func() []int {
		cur, err := st.Announcement(ctx, b.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, r := range cur.Call.Roles {
			out = append(out, cur.Call.Taken[r.Name])
		}
		return out
	}

	// Three voters; the third asks for the driver's place, already taken.
	for i, role := range []string{"cook", "driver", "driver"} {
		who := board.Person{Kind: board.PersonFediverse, ID: fmt.Sprintf("https://peer.example/users/v%d", i)}
		svc.SignUp(ctx, b, a.ID, who, []string{role}, board.Origin{ID: fmt.Sprintf("https://peer.example/users/v%d/statuses/1", i)})
	}
	acts = activities(t, s, svc)
	if len(acts) != 3 {
		t.Fatalf("%d activities for three answers, want a refresh each", len(acts))
	}
	for _, act := range acts {
		if way := m.update(objectOf(act)); way != "implicit" {
			t.Errorf("a count refresh was taken as %s", way)
		}
	}
	if m.edits != 0 || fmt.Sprint(m.tallies) != fmt.Sprint(ledger()) || m.voters != 2 {
		t.Fatalf("after three answers Mastodon shows %d edits, tallies %v and %d voters; the ledger holds %v", m.edits, m.tallies, m.voters, ledger())
	}

	// A role added: the edit resets the poll's counts there, and the
	// counts follow at once, whichever arrives first.
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error {
		d.Call.Roles = append(d.Call.Roles, board.Role{Name: "baker", Places: 1})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	acts = activities(t, s, svc)
	if len(acts) != 2 {
		t.Fatalf("%d activities for a role added, want the Update and the counts", len(acts))
	}
	copies := m.bothOrders(acts)
	m = copies[0]
	for _, c := range copies {
		if c.edits != 1 || fmt.Sprint(c.tallies) != fmt.Sprint(ledger()) || !slices.Contains(c.options, "baker") {
			t.Fatalf("after a role was added Mastodon shows %d edits, options %v, tallies %v; the ledger holds %v", c.edits, c.options, c.tallies, ledger())
		}
	}

	// One more answer; then the object fetched again (a poll's refresh,
	// fetch_remote_poll_service.rb) is taken, and its updated is the last
	// state sent.
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "form-0123456789abcdef"}, []string{"baker"}, board.Origin{ID: "web:form-0123456789abcdef:baker"})
	acts = activities(t, s, svc)
	lastSent := objectOf(acts[len(acts)-1])["updated"]
	status, _, body := get(t, s.urls.AnnouncementURL("news", a.ID), "application/activity+json")
	if status != 200 {
		t.Fatalf("GET the post: %d", status)
	}
	var served map[string]any
	if err := json.Unmarshal(body, &served); err != nil {
		t.Fatal(err)
	}
	if served["updated"] != lastSent {
		t.Errorf("the served object's updated is %v, the last sent %v", served["updated"], lastSent)
	}
	if way := m.update(served); way == "dropped" || fmt.Sprint(m.tallies) != fmt.Sprint(ledger()) || m.edits != 1 {
		t.Fatalf("the post fetched again was %s: tallies %v, %d edits; the ledger holds %v", way, m.tallies, m.edits, ledger())
	}
}

// A training's one option is named in its language: a change of language
// renames it, which Mastodon takes as a new poll (its counts reset to 0),
// so the counts follow the Update at once, whichever arrives first.
func TestTrainingLanguageChangeKeepsItsCount(t *testing.T) {
	s, svc, _, b := followedBoard(t)
	ctx := context.Background()
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindTraining, Title: "Atelier Git", Language: "fr",
		Event: &board.Event{Start: time.Now().Add(72 * time.Hour)}, Training: &board.Training{Seats: 5}}, "")
	if err != nil {
		t.Fatal(err)
	}
	objectOf := func(act map[string]any) map[string]any { o, _ := act["object"].(map[string]any); return o }
	var m mastodonCopy
	m.create(objectOf(activities(t, s, svc)[0]))
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonFediverse, ID: "https://peer.example/users/v"}, []string{board.TrainingRole}, board.Origin{ID: "https://peer.example/users/v/statuses/1"})
	for _, act := range activities(t, s, svc) {
		m.update(objectOf(act))
	}
	if fmt.Sprint(m.tallies) != "[1]" {
		t.Fatalf("after one registration Mastodon shows %v", m.tallies)
	}
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Language = "en"; return nil }); err != nil {
		t.Fatal(err)
	}
	acts := activities(t, s, svc)
	for _, c := range m.bothOrders(acts) {
		if fmt.Sprint(c.tallies) != "[1]" || !slices.Contains(c.options, "I'll come") {
			t.Errorf("after the training went from French to English Mastodon shows options %v, tallies %v; want [I'll come] with 1 (%d activities)", c.options, c.tallies, len(acts))
		}
	}
}

// bothOrders applies acts to two copies of m, in the order sent and
// reversed (a server may take them either way), and returns both.
func (m mastodonCopy) bothOrders(acts []map[string]any) []mastodonCopy {
	inOrder, reversed := m, m
	for i := range acts {
		obj, _ := acts[i]["object"].(map[string]any)
		inOrder.update(obj)
		obj, _ = acts[len(acts)-1-i]["object"].(map[string]any)
		reversed.update(obj)
	}
	return []mastodonCopy{inOrder, reversed}
}

// A training written without a language of its own takes its board's
// when it is written: the board's language changing afterwards leaves
// its poll option as its voters saw it.
func TestBoardLanguageChangeLeavesATrainingsOption(t *testing.T) {
	s, _, svc := newTestServer(t)
	ctx := context.Background()
	st := storeOf(svc)
	b, _ := st.BoardByName(ctx, "news")
	b.Language = "fr"
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindTraining, Title: "Atelier vélo",
		Event: &board.Event{Start: time.Now().Add(72 * time.Hour)}, Training: &board.Training{Seats: 5}}, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Language = "en"
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	cur, _ := st.Announcement(ctx, b.ID, a.ID)
	obj, err := s.note(b, cur)
	if err != nil {
		t.Fatal(err)
	}
	var m mastodonCopy
	m.create(obj)
	if !slices.Equal(m.options, []string{"Je viens"}) {
		t.Errorf("after the board went from French to English the training's option is %v, want [Je viens]", m.options)
	}
}

// A campaign's new total is new text: Mastodon shows it only from an
// Update whose updated is newer than the post's last (a trial saw the
// first total stay there for good). Two totals typed one after the other
// both reach the copy, and its page served again says the same.
func TestMastodonShowsACampaignsNewTotal(t *testing.T) {
	s, svc, _, b := followedBoard(t)
	ctx := context.Background()
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCampaign, Title: "Keep the servers running", Body: "Give what you can.", Language: "en",
		Campaign: &board.Campaign{Goal: 1000, Currency: "EUR", Raised: 100, Link: "https://liberapay.com/asso"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	objectOf := func(act map[string]any) map[string]any { o, _ := act["object"].(map[string]any); return o }
	var m mastodonCopy
	m.create(objectOf(activities(t, s, svc)[0]))
	for _, raised := range []float64{200, 600} {
		time.Sleep(2 * time.Millisecond) // Mastodon compares milliseconds
		if _, err := svc.SetRaised(ctx, board.System, b, a.ID, raised); err != nil {
			t.Fatal(err)
		}
		acts := activities(t, s, svc)
		if len(acts) == 0 {
			t.Fatalf("no activity for a total of %v", raised)
		}
		for _, act := range acts {
			m.update(objectOf(act))
		}
		if want := fmt.Sprintf("%v\u00a0€ of", raised); !strings.Contains(m.text, want) {
			t.Errorf("after a total of %v Mastodon shows %q", raised, m.text)
		}
	}
	if m.edits != 2 {
		t.Errorf("Mastodon counted %d edits for two totals", m.edits)
	}
}

// followedBoard is a test server whose board "news" has one follower, so
// that each post makes activities to read as Mastodon would.
func followedBoard(t *testing.T) (*Server, *board.Service, *store.Store, board.Board) {
	t.Helper()
	s, _, svc := newTestServer(t)
	st := storeOf(svc)
	b, err := st.BoardByName(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddFollower(context.Background(), b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox", SharedInbox: "https://peer.example/inbox"}); err != nil {
		t.Fatal(err)
	}
	return s, svc, st, b
}
