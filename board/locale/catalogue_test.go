package locale

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/language"

	"crieur/board"
)

// Every language has every key English has, and nothing else: a key
// missing in French would show English to French readers.
func TestLanguagesHaveTheSameKeys(t *testing.T) {
	c := Builtin()
	if len(c.Languages()) < 2 {
		t.Fatalf("languages %v: want English and French at least", c.Languages())
	}
	en := c.Keys(language.English)
	if len(en) < 100 {
		t.Fatalf("English has %d keys: the catalogue did not load", len(en))
	}
	for _, tag := range c.Languages()[1:] {
		for _, k := range en {
			if !c.Has(tag, k) {
				t.Errorf("%s lacks %q", tag, k)
			}
		}
		for _, k := range c.Keys(tag) {
			if !c.Has(language.English, k) {
				t.Errorf("%s has %q, which English has not (a typo, or a key left behind)", tag, k)
			}
		}
		if c.Name(tag) == "" {
			t.Errorf("%s has no name for the switcher", tag)
		}
	}
}

// A translation takes the same arguments as English: a %d where English
// has %s would print garbage.
func TestTranslationsTakeTheSameArguments(t *testing.T) {
	c := Builtin()
	for _, tag := range c.Languages()[1:] {
		for _, k := range c.Keys(language.English) {
			if _, list := c.lists[language.English][k]; list {
				if len(c.lists[tag][k]) != len(c.lists[language.English][k]) {
					t.Errorf("%s %s: %d items, English has %d", tag, k, len(c.lists[tag][k]), len(c.lists[language.English][k]))
				}
				continue
			}
			want := verbs(c.Texts(language.English, k)[len(c.Texts(language.English, k))-1]) // "other", or the one text
			for _, text := range c.Texts(tag, k) {
				if got := verbs(text); got != want {
					t.Errorf("%s %s: %q takes %s, English takes %s", tag, k, text, got, want)
				}
			}
		}
	}
}

var verbRe = regexp.MustCompile(`%(?:\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])`)

// verbs lists a format's arguments by position, "1s 2d", whether the
// text takes them in order or by index (%[2]s).
func verbs(format string) string {
	byPos := map[int]string{}
	next := 1
	for _, m := range verbRe.FindAllStringSubmatch(format, -1) {
		if m[2] == "%" {
			continue
		}
		if m[1] != "" {
			next, _ = strconv.Atoi(m[1])
		}
		byPos[next] = m[2]
		next++
	}
	var out []string
	for i := 1; i <= len(byPos)+1; i++ {
		if v, ok := byPos[i]; ok {
			out = append(out, strconv.Itoa(i)+v)
		}
	}
	return strings.Join(out, " ")
}

// French typography: a narrow no-break space before : ; ! ? and inside
// « », one apostrophe (’), French quotes rather than English ones.
func TestFrenchTypography(t *testing.T) {
	c := Builtin()
	fr := language.French
	checked := 0
	for key, texts := range c.texts[fr] {
		for _, s := range texts {
			checked++
			rs := []rune(s)
			depth := 0 // inside a JSON example ({"name": …}), which keeps its own marks
			for i, r := range rs {
				var prev, next rune
				if i > 0 {
					prev = rs[i-1]
				}
				if i+1 < len(rs) {
					next = rs[i+1]
				}
				switch r {
				case '{', '[':
					depth++
				case '}', ']':
					depth--
				}
				// A mark inside a word (14:00, !abc:example.org, https://)
				// is not punctuation.
				punctuation := next == 0 || unicode.IsSpace(next) || r == '»'
				switch {
				case depth > 0 || r == ']':
				case strings.ContainsRune(":;!?»", r) && i > 0 && punctuation && prev != '\u202f' && prev != '%':
					t.Errorf("fr %s: %q: %q without a narrow no-break space before it", key, s, r)
				case r == '«' && next != '\u202f':
					t.Errorf("fr %s: %q: « without a narrow no-break space after it", key, s)
				case strings.ContainsRune("'\"“”", r):
					t.Errorf("fr %s: %q: %q (French writes ’ and « »)", key, s, r)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d French texts", checked)
	}
}

// Plural forms follow the language's rule: French says "1 place", "0
// place" and "2 places"; English "0 places".
func TestPluralRules(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "cooks (1 of 1 place left)"}, {"en", 2, "cooks (2 of 2 places left)"},
		{"fr", 1, "cooks (1 place restante sur 1)"}, {"fr", 0, "cooks (0 place restante sur 0)"}, {"fr", 2, "cooks (2 places restantes sur 2)"},
	} {
		if got := For(tc.lang).T("role.left", "cooks", tc.n, tc.n); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
	if got := For("fr").T("seats.left", 1, 3); got != "1 disponible sur 3" {
		t.Errorf("fr seats.left 1: %q", got)
	}
	if got := For("fr").T("seats.left", 2, 3); got != "2 disponibles sur 3" {
		t.Errorf("fr seats.left 2: %q", got)
	}
}

// Numbers and money as each language writes them.
func TestAmounts(t *testing.T) {
	if got := For("en").Amount(3000, "EUR"); got != "3,000\u00a0€" {
		t.Errorf("en: %q", got)
	}
	got := For("fr").Amount(3000, "EUR")
	if got != "3\u202f000\u00a0€" {
		t.Errorf("fr: %q, want 3 000 € with no-break spaces", got)
	}
}

// Times show in the board's zone whatever offset was typed, with the zone
// named as a reader says it.
func TestTimesInTheBoardsZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	utc := time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC) // typed with Z
	if got, want := For("fr").InZone(paris).Time(utc), "ven. 18 déc. 2026, 19:00 (heure de Paris)"; got != want {
		t.Errorf("fr: %q, want %q", got, want)
	}
	if got, want := For("en").InZone(paris).Time(utc.In(time.FixedZone("", -5*3600))), "Fri 18 Dec 2026, 19:00 (Paris time)"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	if got, want := For("en").InZone(time.UTC).Time(utc), "Fri 18 Dec 2026, 18:00 (UTC)"; got != want {
		t.Errorf("en UTC: %q, want %q", got, want)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if got := For("en").InZone(ny).Zone(utc); got != "New York time" {
		t.Errorf("zone: %q", got)
	}
}

// A third language is one file: a fixture German file loads beside the
// built-in ones, is negotiated, and renders an announcement's facts, what
// it lacks falling back to English.
func TestAThirdLanguageIsOneFile(t *testing.T) {
	c, err := Load(os.DirFS("messages"), os.DirFS("testdata/catalogue"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Negotiate("de-CH, fr;q=0.5").InZone(time.UTC)
	if l.Tag != language.German || l.Name() != "Deutsch" {
		t.Fatalf("negotiated %v %q, want German", l.Tag, l.Name())
	}
	a := board.Announcement{Kind: board.KindTraining, Title: "Git", Event: &board.Event{Start: time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC), Place: "Salle 2"},
		Training: &board.Training{Seats: 2}, Call: &board.Call{Roles: []board.Role{{Name: board.TrainingRole, Places: 2}}}}
	var got []string
	for _, f := range l.Facts(a) {
		got = append(got, f.Label+"="+f.Value)
	}
	want := "Wann=Fr., 18. Dez. 2026, 18:00 Uhr (UTC)|Wo=Salle 2|Plätze=2 frei"
	if strings.Join(got, "|") != want {
		t.Errorf("German facts %q, want %q", strings.Join(got, "|"), want)
	}
	if k := l.KindLabel(a); k != "Schulung" {
		t.Errorf("kind %q", k)
	}
	if s := l.T("page.events"); s != "Events" {
		t.Errorf("a key German lacks: %q, want English", s)
	}
	if _, err := Load(os.DirFS("testdata/catalogue")); err == nil {
		t.Error("a catalogue without English loaded")
	}
}

// keyRe finds the message keys written in code and templates: T("a.b"),
// T "a.b", and fact/kind/state keys completed at run time are listed in
// dynamicKeys.
var keyRe = regexp.MustCompile(`\bT\(?\s*"([a-z_]+\.[a-z_.0-9]+)"`)

// problemRe finds the problems' keys, given to board.Problemf, Invalid or
// returned as strings.
var problemRe = regexp.MustCompile(`"((?:problem|editor\.p|setup)\.[a-z_.0-9]+)"`)

// Every key the code and the templates use is in the catalogue: a key
// written wrong shows itself to readers.
func TestEveryKeyUsedExists(t *testing.T) {
	root := filepath.Join("..", "..")
	c := Builtin()
	used := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && path != root && (info.Name() == "testdata" || info.Name() == "node_modules" || strings.HasPrefix(info.Name(), ".")) {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".html")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range append(keyRe.FindAllStringSubmatch(string(data), -1), problemRe.FindAllStringSubmatch(string(data), -1)...) {
			if strings.HasSuffix(m[1], ".") || strings.HasSuffix(m[1], "_") {
				continue // a key made at run time from a prefix: see TestMadeKeysExist
			}
			used++
			if !c.Has(language.English, m[1]) {
				t.Errorf("%s uses %q, which the catalogue lacks", path, m[1])
			}
		}
		if strings.HasSuffix(path, ".go") {
			checkCalls(t, path, data, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if used < 100 {
		t.Errorf("found %d keys in use: the pattern no longer matches the code", used)
	}
	for _, k := range board.Kinds() {
		if !c.Has(language.English, "kind."+string(k)) {
			t.Errorf("kind %s has no name", k)
		}
	}
	for _, s := range []string{board.OutagePlanned, board.OutageOngoing, board.OutageResolved} {
		if !c.Has(language.English, "state."+s) {
			t.Errorf("state %s has no name", s)
		}
	}
}

// checkCalls finds T calls whose key is a literal the regexp above would
// miss (split over lines), so none escapes the check.
func checkCalls(t *testing.T, path string, src []byte, c *Catalogue) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "T" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			key := strings.Trim(lit.Value, "\"`")
			if !c.Has(language.English, key) {
				t.Errorf("%s: T(%s), which the catalogue lacks", path, lit.Value)
			}
		}
		return true
	})
}

// A training's poll option is offered in the post's language and comes
// back, from any of them, as the training's one role.
func TestTrainingOptionInEveryLanguage(t *testing.T) {
	fr := For("fr")
	if got := fr.Role(board.TrainingRole); got != "Je viens" {
		t.Errorf("French option %q", got)
	}
	for _, name := range []string{"Je viens", "I'll come"} {
		if got := fr.RoleNamed(name); got != board.TrainingRole {
			t.Errorf("%q came back as %q", name, got)
		}
	}
	if got := fr.RoleNamed("cuisine"); got != "cuisine" {
		t.Errorf("a call's role came back as %q", got)
	}
}
