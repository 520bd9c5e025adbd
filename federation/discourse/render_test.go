package discourse

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

const link = "https://asso.example/boards/news/a/1"

// Every kind, in English and in French: a title the forum accepts, a
// first post that starts with the kind, has the kind's facts and the link
// and is long enough, a follow-up long enough for a reply, all in the
// announcement's language.
func TestEveryKindInBothLanguages(t *testing.T) {
	start := time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)
	fr := boardtest.FrenchBoard()
	en := fr
	en.Language = "en"
	for _, b := range []board.Board{en, fr} {
		kinds := map[board.Kind]bool{}
		for _, a := range boardtest.EveryKind(b, start) {
			kinds[a.Kind] = true
			l := locale.Of(b, a)
			title, body := Title(l, a, b.DisplayName), Body(l, a, link)
			if n := utf8.RuneCountInString(title); n < MinTitle || n > MaxTitle || !strings.HasPrefix(title, strings.Join(strings.Fields(a.Title), " ")) {
				t.Errorf("%s %s: title %q", b.Language, a.Kind, title)
			}
			if !strings.HasPrefix(body, "*"+l.KindLabel(a)+"*\n") || !strings.Contains(body, link) || utf8.RuneCountInString(body) < MinFirstPost {
				t.Errorf("%s %s: body %q", b.Language, a.Kind, body)
			}
			for _, f := range l.Facts(a) {
				if a.ContentWarning == "" && !strings.Contains(body, l.Colon(f.Label)) {
					t.Errorf("%s %s: the fact %q is missing from %q", b.Language, a.Kind, f.Label, body)
				}
			}
			up := FollowUp(l, a, link, nil)
			if utf8.RuneCountInString(up) < MinPost || !strings.Contains(up, link) {
				t.Errorf("%s %s: follow-up %q", b.Language, a.Kind, up)
			}
			if !strings.Contains(body, "["+l.T("post.read_on_board")+"]("+link+")") {
				t.Errorf("%s %s: no link to the board in %q", b.Language, a.Kind, body)
			}
			if b.Language == "fr" {
				boardtest.NoEnglish(t, string(a.Kind), body)
				boardtest.NoEnglish(t, string(a.Kind)+" follow-up", up)
				if !strings.Contains(body, "À lire sur le tableau") {
					t.Errorf("fr %s: %q", a.Kind, body)
				}
			} else if !strings.Contains(body, "Read it on the board") || strings.Contains(body, "À lire") {
				t.Errorf("en %s: %q", a.Kind, body)
			}
		}
		if len(kinds) != 6 {
			t.Errorf("%s: %d kinds rendered, want 6", b.Language, len(kinds))
		}
	}
}

// A short title reaches the forum's minimum with its kind, then the
// board's name; a long one is cut at a word under the maximum.
func TestTitleFitsTheForum(t *testing.T) {
	en := locale.For("en")
	fr := locale.For("fr")
	call := board.Announcement{Kind: board.KindCall, Title: "Cooks  wanted"}
	if got := Title(en, call, "Repair café"); got != "Cooks wanted — Call for volunteers" {
		t.Errorf("en: %q", got)
	}
	news := board.Announcement{Kind: board.KindNews, Title: "AG"}
	if got := Title(fr, news, "Les Chatons"); !strings.HasPrefix(got, "AG — ") || !strings.HasSuffix(got, " — Les Chatons") || utf8.RuneCountInString(got) < MinTitle {
		t.Errorf("fr: %q", got)
	}
	if got := Title(en, news, ""); utf8.RuneCountInString(got) < MinTitle {
		t.Errorf("no board name: %q", got)
	}
	long := board.Announcement{Kind: board.KindNews, Title: strings.Repeat("très long ", 40)}
	got := Title(fr, long, "x")
	if n := utf8.RuneCountInString(got); n > MaxTitle || !(strings.HasSuffix(got, " long…") || strings.HasSuffix(got, " très…")) {
		t.Errorf("a long title: %d characters, %q", n, got)
	}
	ev := board.Announcement{Kind: board.KindEvent, Title: strings.Repeat("word ", 60), Event: &board.Event{Start: time.Date(2027, 3, 12, 23, 30, 0, 0, time.UTC)}}
	paris, _ := time.LoadLocation("Europe/Paris")
	if suffix := DateSuffix(fr.InZone(paris), ev); suffix != " — 13 mars 2027" {
		t.Errorf("the date of an event on a board in Paris: %q", suffix)
	}
	if got := TitleWith(en, ev, "B", " — 12 Mar 2027"); utf8.RuneCountInString(got) > MaxTitle || !strings.HasSuffix(got, "word… — 12 Mar 2027") {
		t.Errorf("a long title keeps its date: %q", got)
	}
	if got := Title(en, board.Announcement{Kind: board.KindNews, Title: "Exactly fifteen"}, "B"); got != "Exactly fifteen" {
		t.Errorf("a title long enough is left alone: %q", got)
	}
}

// Mentions do not notify, a content warning keeps the text on the board,
// a text longer than a post is cut at a paragraph with the link kept.
func TestBodyIsSafeAndFits(t *testing.T) {
	en := locale.For("en")
	a := board.Announcement{Kind: board.KindNews, Title: "Hello everyone", Body: "Dear @here and @alice, see https://example.org/@bob."}
	body := Body(en, a, link)
	if strings.Contains(body, "@here") || strings.Contains(body, "@alice") || !strings.Contains(body, "https://example.org/@bob") {
		t.Errorf("mentions: %q", body)
	}
	a.ContentWarning = "food"
	if cw := Body(en, a, link); strings.Contains(cw, "Dear") || !strings.Contains(cw, "Content warning: food") || !strings.Contains(cw, link) {
		t.Errorf("behind a content warning: %q", cw)
	}
	a.ContentWarning = ""
	var paras []string
	for i := 0; i < 800; i++ {
		paras = append(paras, "A paragraph of some fifty characters, give or take.")
	}
	a.Body = strings.Join(paras, "\n\n")
	long := Body(en, a, link)
	if n := utf8.RuneCountInString(long); n > MaxPost || !strings.HasSuffix(long, "[Read it on the board]("+link+")\n") || !strings.Contains(long, "take. …\n") {
		t.Errorf("a long text: %d characters, ends %q", n, long[len(long)-120:])
	}
}

func TestFollowUpSaysWhat(t *testing.T) {
	en := locale.For("en")
	tr := board.Announcement{Kind: board.KindTraining, Title: "Git", Training: &board.Training{Seats: 3, Cancelled: true}}
	if up := FollowUp(en, tr, "L", nil); !strings.HasPrefix(up, "**Cancelled: Git** (Training):") {
		t.Errorf("cancelled: %q", up)
	}
	o := board.Announcement{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: time.Now().Add(-time.Hour)}}
	now := time.Now()
	o.Outage.Resolved = &now
	if up := FollowUp(en, o, "L", []string{board.ChangeResolved}); !strings.HasPrefix(up, "**Resolved: Mail down**") || !strings.Contains(up, "- **Resolved:** ") {
		t.Errorf("resolved: %q", up)
	}
}

func TestTagsAsDiscourseKeepsThem(t *testing.T) {
	a := board.Announcement{Tags: []string{"Climat", "climat", "LogicielLibrePourTous2027", "a", "b", "c", "d", "e"}}
	got := Tags(a)
	want := []string{"climat", "logiciellibrepourtou", "a", "b", "c"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tags %v, want %v", got, want)
	}
}

func TestCheck(t *testing.T) {
	ok := Setup{URL: "https://forum.example.org", APIKey: "k", Username: "crieur", Category: "annonces"}
	if errs := Check(ok, false); len(errs) != 0 {
		t.Errorf("a good set-up: %v", errs)
	}
	ok.Category = "12"
	if errs := Check(ok, false); len(errs) != 0 {
		t.Errorf("a category by id: %v", errs)
	}
	bad := Setup{URL: "forum.example.org", Username: "a b", Category: "Annonces du mois", OnDelete: "delete"}
	errs := Check(bad, false)
	for _, f := range []string{"url", "api_key", "username", "category", "on_delete"} {
		if _, ok := errs[f]; !ok {
			t.Errorf("%s not refused: %v", f, errs)
		}
	}
	if errs := Check(Setup{URL: "https://f.example", Username: "u", Category: "c"}, true); len(errs) != 0 {
		t.Errorf("a kept key: %v", errs)
	}
}
