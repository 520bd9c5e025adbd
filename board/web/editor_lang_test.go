package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/cut"
	"crieur/board/locale"
)

// The editor makes some keys at run time (a status, a field's label, a
// sign-up's state): each one it can make is in every language's file.
func TestMadeKeysExist(t *testing.T) {
	c := locale.Builtin()
	var keys []string
	for _, s := range []board.Status{board.StatusDraft, board.StatusScheduled, board.StatusPublished, board.StatusExpired, board.StatusPending} {
		keys = append(keys, "editor.status_"+string(s))
	}
	for _, s := range []string{board.SignupConfirmed, board.SignupWaiting, board.SignupWithdrawn} {
		keys = append(keys, "editor.signup_"+s)
	}
	for _, k := range []string{board.PersonFediverse, board.PersonMatrix, board.PersonWeb, board.PersonEditor} {
		keys = append(keys, "editor.via_"+k)
	}
	for _, why := range []string{board.WhyClosed, board.WhyNoSuchRole, board.WhyOneRole, board.WhyDuplicate} {
		keys = append(keys, "editor.history.refused_"+why)
	}
	for _, why := range []string{board.WhyLink, board.WhyEditor} {
		keys = append(keys, "editor.history.withdrawn_"+why)
	}
	for _, part := range []string{"confirmed", "waiting", "full", "already", "dropped"} {
		keys = append(keys, "editor.history."+part)
	}
	keys = append(keys, "editor.approve_own", "editor.approve_own_edit") // board.ForbiddenError's Say
	for _, per := range []string{board.PerWeek, board.PerMonth} {
		keys = append(keys, "fact.per_"+per)
	}
	keys = append(keys, "state."+stateEnded)
	for _, st := range board.ServiceStates() {
		keys = append(keys, "service."+st) // the services' pages
	}
	for _, indicator := range []string{"none", "major", "maintenance"} {
		keys = append(keys, "service.summary_"+indicator) // status.json
	}
	for _, what := range []string{board.FollowUpUpdated, board.FollowUpCancelled, board.FollowUpBackOn, board.FollowUpResolved} {
		keys = append(keys, "post."+what, "post.is_"+what)
	}
	for _, change := range []string{board.ChangeWhen, board.ChangeWhere, board.ChangeOnline, board.ChangeUntil, board.ChangeResolved, board.ChangeAnswerBefore} {
		keys = append(keys, "changed."+change)
	}
	for p := cut.Paragraph; p <= cut.Grapheme; p++ {
		keys = append(keys, "cut."+p.String())
	}
	for _, name := range []string{"edit_login", "edit_home"} {
		keys = append(keys, "editor.title_"+name)
	}
	for _, f := range formFields {
		keys = append(keys, "editor.f."+f.name)
	}
	for _, w := range inWords {
		keys = append(keys, "editor.p."+w)
	}
	for _, lang := range c.Languages() {
		for _, k := range keys {
			if !c.Has(lang, k) {
				t.Errorf("%s lacks %s", lang, k)
			}
		}
	}
	if !c.Has(language.French, "editor.status_draft") {
		t.Error("the check reads no French")
	}
}

// englishWord finds words of English sentences in a page's text.
var englishWord = regexp.MustCompile(`\b(the|your|and|to|is|of|for|this|Save|Publish|Preview|Sign|Remove|Edit|Back|Nothing|Who|When|Add|Delete|Close|Reopen|Mark|Cancel)\b`)

// visibleText is what a reader of page sees: its text and the labels
// screen readers say, without the markup and the style sheet.
func visibleText(page string) string {
	page = regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, "")
	labels := regexp.MustCompile(`(?:aria-label|placeholder|alt)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	for _, l := range labels {
		text += " " + l[1]
	}
	return html.UnescapeString(text)
}

// An editor whose browser (or choice) is French gets the whole editor in
// French: every page, every kind's form, the problems to fix, the
// notices; the switcher takes it back to English.
func TestEditorInFrench(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	e := signIn(t, rig, time.UTC)
	home := e.get("/edit?lang=fr") // the switcher's link; the cookie keeps the choice
	if !strings.Contains(home, `<html lang="fr">`) || !strings.Contains(home, "Nouvelle annonce sur") || !strings.Contains(home, `href="/edit?lang=en"`) {
		t.Fatalf("the French home page:\n%s", home)
	}
	csrf := hiddenValue(t, home, "csrf")

	// A form with problems: said in French, by the field and in the list.
	code, page := e.post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {newFormKey()}, "kind": {"event"}, "title": {""},
		"start": {"2026-12-05T14:00"}, "end": {"2026-12-05T12:00"}, "place": {strings.Repeat("x", 1300)}})
	for _, want := range []string{
		`id="news-title-error">Ce champ est obligatoire.</span>`,
		`id="news-end-error">La fin doit venir après le début.</span>`,
		"Ce texte fait 1\u202f300 caractères", // the number as French writes it
		"<strong>Titre\u202f:</strong>",
		"Rien n’a encore été enregistré",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if code != 400 || englishWord.MatchString(visibleText(page)) {
		t.Errorf("the refused form (%d) speaks English: %q", code, englishWord.FindAllString(visibleText(page), -1))
	}

	// Every kind's edit page, with its buttons (sign-ups, progress, status).
	b := rig.Board
	start := time.Now().Add(72 * time.Hour)
	for _, a := range boardtest.EveryKind(b, start) {
		d := board.DraftOf(a)
		d.Images = nil
		saved, _, err := rig.Service.Create(ctx, board.System, b, d, "")
		if err != nil {
			t.Fatalf("%s: %v", a.Kind, err)
		}
		if a.TakesSignups() {
			role := saved.Call.Roles[0].Name
			e.post(fmt.Sprintf("/edit/news/%d/signups", saved.ID), url.Values{"csrf": {csrf}, "name": {"Léa"}, "role": {role}})
		}
		page := e.get(fmt.Sprintf("/edit/news/%d", saved.ID))
		if !strings.Contains(page, "Enregistrer les modifications") {
			t.Errorf("%s: not the French edit page:\n%s", a.Kind, page)
		}
		if words := englishWord.FindAllString(visibleText(page), -1); len(words) > 0 {
			t.Errorf("%s: the French edit page says %q", a.Kind, words)
		}
	}
	for _, path := range []string{"/edit", "/edit/news/all", "/edit/news/all?q=Venez"} {
		if words := englishWord.FindAllString(visibleText(e.get(path)), -1); len(words) > 0 {
			t.Errorf("%s in French says %q", path, words)
		}
	}
	// Back to English with the switcher.
	if page := e.get("/edit?lang=en"); !strings.Contains(page, "New announcement on") || !strings.Contains(e.get("/edit"), `<html lang="en">`) {
		t.Errorf("the switch back to English did not hold")
	}
}

// fakeSetup is a destination's set-up as federation/email writes it: its
// words are catalogue keys.
type fakeSetup struct{}

func (fakeSetup) Key() string   { return "email" }
func (fakeSetup) Title() string { return "setup.email" }
func (fakeSetup) Items(context.Context, board.Board) ([]board.SetupItem, error) {
	return []board.SetupItem{{Name: "usagers", Summary: board.Problemf("setup.list_only", "usagers@example.org", "outage")}}, nil
}
func (fakeSetup) Forms(context.Context, board.Board) ([]board.SetupForm, error) {
	return []board.SetupForm{{ID: "smtp", Title: "setup.smtp_form", Help: "setup.smtp_help", Fields: []board.SetupField{
		{Name: "host", Label: "setup.host", Help: "setup.host_help", Type: "text"},
		{Name: "password", Label: "setup.password", Help: "setup.password_help", Type: "password", Set: true},
	}}}, nil
}
func (fakeSetup) Submit(context.Context, board.Board, string, url.Values) (board.Problems, error) {
	return board.Problems{"host": board.Problemf("problem.smtp_host")}, nil
}
func (fakeSetup) Remove(context.Context, board.Board, string) error   { return nil }
func (fakeSetup) SendTest(context.Context, board.Board, string) error { return nil }

// The Channels and lists page says a destination's forms, their help and
// their problems in the editor's language.
func TestEditorSetupsInFrench(t *testing.T) {
	e := signIn(t, boardtest.New(t), time.UTC, fakeSetup{})
	home := e.home
	page := e.get("/edit/news/destinations?lang=fr")
	for _, want := range []string{"Listes de diffusion", "Serveur d’envoi (SMTP)", "usagers@example.org, seulement outage", "Mot de passe", "conservé\u202f; tapez-en un nouveau"} {
		if !strings.Contains(page, want) {
			t.Errorf("the French set-up page lacks %q", want)
		}
	}
	if words := englishWord.FindAllString(visibleText(page), -1); len(words) > 0 {
		t.Errorf("the French set-up page says %q", words)
	}
	code, page := e.post("/edit/news/destinations/email/save", url.Values{"csrf": {hiddenValue(t, home, "csrf")}, "item": {"smtp"}, "host": {"smtp example"}})
	if code != 400 || !strings.Contains(page, "Écrivez le nom du serveur SMTP, comme smtp.example.org.") {
		t.Errorf("a refused set-up in French: %d", code)
	}
}

// A refused set-up form never writes a password typed into the page, and
// a form that does not exist is a 404, not a server error.
func TestSetupFormKeepsNoSecret(t *testing.T) {
	e := signIn(t, boardtest.New(t), time.UTC, fakeSetup{})
	home := e.home
	csrf := hiddenValue(t, home, "csrf")
	code, page := e.post("/edit/news/destinations/email/save", url.Values{"csrf": {csrf}, "item": {"smtp"}, "host": {"smtp example"}, "password": {"s3cret-typed"}})
	if code != 400 || strings.Contains(page, "s3cret-typed") || !strings.Contains(page, `value="smtp example"`) {
		t.Errorf("a refused set-up (%d) shows the password, or loses the host", code)
	}
	if code, _ := e.post("/edit/news/destinations/email/save", url.Values{"csrf": {csrf}}); code != 404 {
		t.Errorf("a form that does not exist: %d", code)
	}
}

// A role's problem names the line it was typed on, even after a line
// that could not be read.
func TestRoleProblemsNameTheirLine(t *testing.T) {
	rig := boardtest.New(t)
	e := signIn(t, rig, time.UTC)
	_, page := e.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, e.home, "csrf")}, "key": {newFormKey()}, "kind": {"call"}, "title": {"Cooks"},
		"contact": {"a@b.org"}, "roles": {"cook: two\n: 3\ncook: 0"}})
	for _, want := range []string{"Role on line 2: This is required.", "Role on line 3: Write a whole number from 1 to 10,000."} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("the form lacks %q", want)
		}
	}
}

// checkingSetup is a destination whose test posts nothing and says what it
// found (federation/discourse's forum).
type checkingSetup struct {
	fakeSetup
	err error
}

func (checkingSetup) Key() string   { return "discourse" }
func (checkingSetup) Title() string { return "setup.discourse" }
func (checkingSetup) Items(context.Context, board.Board) ([]board.SetupItem, error) {
	return []board.SetupItem{{Name: "forum", Summary: board.Problemf("setup.discourse_item", "https://forum.example", "annonces", "crieur")}}, nil
}
func (c checkingSetup) CheckSetup(context.Context, board.Board, string) (board.Problem, error) {
	return board.Problemf("setup.discourse_checked_no_tags", "Annonces", "https://forum.example/c/annonces/5", "crieur"), c.err
}
func (checkingSetup) SendTest(context.Context, board.Board, string) error {
	return errors.New("SendTest must not be called for a destination that checks")
}

// The test button of a destination that checks its set-up says what it
// found (where topics will go, that nothing was posted), in the editor's
// language, and never "test message sent"; a failed check says so.
func TestSetupCheckSaysWhereItGoes(t *testing.T) {
	for _, c := range []struct {
		lang, want, not string
		err             error
	}{
		{"en", "Nothing was posted: the forum accepts the key, and topics will go to the category Annonces", "Test message sent", nil},
		{"fr", "Rien n’a été publié\u202f: le forum accepte la clé", "Message d’essai", nil},
		{"en", "Discourse forum: the check failed: forum f.example: the forum answered 403", "Test message sent", errors.New("forum f.example: the forum answered 403")},
	} {
		e := signIn(t, boardtest.New(t), time.UTC, checkingSetup{err: c.err})
		page := e.get("/edit/news/destinations?lang=" + c.lang)
		_, page = e.post("/edit/news/destinations/discourse/test", url.Values{"csrf": {hiddenValue(t, page, "csrf")}, "item": {"forum"}})
		if text := html.UnescapeString(page); !strings.Contains(text, c.want) || strings.Contains(text, c.not) {
			t.Errorf("%s: the page after the test lacks %q (or says %q):\n%s", c.lang, c.want, c.not, visibleText(page))
		}
	}
}

// A time typed in a text box (a browser without a date picker) is read
// the ways people write it, the form's own example included.
func TestTypedTimes(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	want := time.Date(2026, 12, 20, 14, 0, 0, 0, paris)
	for _, s := range []string{"2026-12-20T14:00", "2026-12-20 14:00", "2026-12-20 14 h 00", "2026-12-20 14h00", "2026-12-20 14h", "20/12/2026 14:00", "20/12/2026 14 h 00", " 20/12/2026  14h "} {
		got, err := parseFormTime(s, paris)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q read as %v (%v), want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"32/12/2026 14h", "demain", "2026-12-20", "14:00"} {
		if got, err := parseFormTime(s, paris); err == nil {
			t.Errorf("%q read as %v, want a problem", s, got)
		}
	}
}
