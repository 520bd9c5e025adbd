// Package web is what people see in a browser: the public pages of each
// board (its announcements, events, service status, a widget, the sign-up
// form, feeds and pictures) and the editor where members publish. Its
// templates and their words live beside the handlers that use them.
//
// It asks the board service to change anything and reads through small
// interfaces of the store; it writes no SQL and makes no decision of the
// domain (who may publish, what a sign-up becomes).
package web

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/board/locale"
)

//go:embed templates/*.html
var templateFS embed.FS

// Content-Security-Policy of the public pages and of the editor: no
// scripts anywhere; the editor also may not be framed. Styles come from
// Crieur's own stylesheet, plus a board's colours inline.
const (
	cspPublic = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'self'"
	// The widget is made to be framed by the association's own site.
	cspWidget = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"
	cspEditor = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
)

// writePage renders template name of set with data: into a buffer first,
// so a template that fails answers a clean error page, not half a page.
func writePage(w http.ResponseWriter, r *http.Request, log *slog.Logger, set map[string]*template.Template, csp string, status int, name string, data map[string]any) {
	w.Header().Set("Content-Security-Policy", csp)
	if l, ok := data["L"].(locale.Locale); ok {
		// The page is in the reader's language: caches keep one per
		// Accept-Language and per remembered choice.
		varyOn(w.Header(), "Accept-Language", "Cookie")
		rememberLanguage(w, r, l)
		// The switcher keeps what the address asked for (a tag, a page).
		if _, set := data["LangQuery"]; !set && r.Method == http.MethodGet {
			q := r.URL.Query()
			q.Del("lang")
			q.Del("t")                                   // the withdrawal link's token: LangToken carries it
			data["LangQuery"] = template.URL(q.Encode()) // already encoded
		}
	}
	if err := httpx.Render(w, r, status, set[name], name+".html", data); err != nil {
		serverError(w, r, log, err)
	}
}

// boardLocale is the locale of a board's page: the visitor's choice or
// browser's language, the board's as fallback, its time zone for the times
// shown.
func boardLocale(r *http.Request, b board.Board) locale.Locale {
	return requestLocale(r, b.Language).InZone(b.Location())
}

// langCookie remembers the language a visitor chose with the switcher.
const langCookie = "lang"

// requestLocale picks the page's language: ?lang= first (the switcher),
// then the choice remembered in a cookie, then the browser's
// Accept-Language, then fallback (a board's), then English.
func requestLocale(r *http.Request, fallback ...string) locale.Locale {
	choices := []string{r.URL.Query().Get("lang")}
	if c, err := r.Cookie(langCookie); err == nil {
		choices = append(choices, c.Value)
	}
	choices = append(choices, r.Header.Get("Accept-Language"))
	return locale.Negotiate(append(choices, fallback...)...)
}

// rememberLanguage keeps a choice made with ?lang= for the next pages, so
// links need not carry it.
func rememberLanguage(w http.ResponseWriter, r *http.Request, l locale.Locale) {
	asked := r.URL.Query().Get("lang")
	if !locale.Supported(asked) || locale.For(asked).Lang() != l.Lang() {
		return // nothing asked, or a language the catalogue has not
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.Lang(), Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// varyOn adds names to the Vary header once each.
func varyOn(h http.Header, names ...string) {
	have := strings.Join(h.Values("Vary"), ",")
	for _, n := range names {
		if !strings.Contains(strings.ToLower(have), strings.ToLower(n)) {
			h.Add("Vary", n)
		}
	}
}

// fail answers err as a page in the visitor's language: its status from
// httpx.Classify, a server error logged once.
func fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := httpx.Classify(err)
	httpx.LogServerError(r, log, e)
	var storage *board.StorageError
	switch {
	case errors.As(e, &storage) && storage.Problem == board.StorageFull:
		errorPage(w, r, e.Status, "page.disk_full", "page.disk_full_text")
	case errors.As(e, &storage):
		errorPage(w, r, e.Status, "page.store_locked", "page.store_locked_text")
	case e.Status >= 500:
		errorPage(w, r, e.Status, "page.error", "page.error_text")
	case e.Status == http.StatusNotFound:
		NotFound(w, r)
	default:
		errorPage(w, r, e.Status, "page.not_understood", "page.not_understood_text")
	}
}

func serverError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	fail(w, r, log, &httpx.Error{Status: http.StatusInternalServerError, Safe: "internal error", Err: err})
}

// NotFound answers a page that does not exist, as a page in the
// visitor's language.
func NotFound(w http.ResponseWriter, r *http.Request) {
	errorPage(w, r, http.StatusNotFound, "page.not_found", "page.not_found_text")
}

// errorPage answers an error as a small page in the visitor's language.
func errorPage(w http.ResponseWriter, r *http.Request, status int, title, text string, args ...any) {
	l := requestLocale(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", cspPublic)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// Under a board's address, the way back is the board; the language
	// links keep the address, as every page's do.
	var boardPath string
	if rest, ok := strings.CutPrefix(r.URL.Path, "/boards/"); ok {
		if name, _, _ := strings.Cut(rest, "/"); board.ValidName(name) {
			boardPath = "/boards/" + name
		}
	}
	_ = errorTemplate.Execute(w, map[string]any{"L": l, "Title": l.T(title), "Text": l.T(text, args...), "Path": r.URL.Path, "Board": boardPath})
}

// errorTemplate is the small page of every error, with the pages' own
// stylesheet (its address fixed when the binary is built, like the
// template) and their footer: the language links and the credit.
var errorTemplate = template.Must(template.New("404").Funcs(loadAssets().funcs()).Parse(`<!doctype html><html lang="{{.L.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<link rel="stylesheet" href="{{asset "crieur.css"}}"></head>
<body><main id="content" class="wrap"><div class="page-head"><h1>{{.Title}}</h1><p>{{.Text}}</p><p>{{with .Board}}<a class="button" href="{{.}}">{{$.L.T "page.board"}}</a> {{end}}<a {{if not .Board}}class="button" {{end}}href="/">{{.L.T "page.home"}}</a></p></div></main>
<footer class="site-foot"><div class="wrap"><nav aria-label="{{.L.T "page.language"}}" class="languages">{{range .L.Languages}}<a href="{{$.Path}}?lang={{.Lang}}" hreflang="{{.Lang}}" lang="{{.Lang}}"{{if eq .Lang $.L.Lang}} aria-current="true"{{end}}>{{.Name}}</a> {{end}}</nav>
<p>{{.L.T "page.published_with"}}</p></div></footer></body></html>`))

// crossSite reports a POST a browser sent from another site's page. The
// session cookie is SameSite=Strict and forms carry a CSRF token, but the
// sign-in form has no session yet: without this, another site could sign
// a visitor in with the attacker's token (login CSRF).
func crossSite(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return true
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		return err != nil || !strings.EqualFold(u.Host, r.Host)
	}
	return false
}

// newFormKey is the key a form carries, so that sending it twice (a double
// click, a page sent again) acts once.
func newFormKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "form-" + hex.EncodeToString(b)
}
