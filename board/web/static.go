package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"crieur/board/markdown"
)

//go:embed static
var staticFS embed.FS

// staticPrefix is where the static files are served.
const staticPrefix = "/static/"

// assets are the static files (the stylesheet) under versioned names:
// crieur.css is served as crieur.<hash>.css, so a page always links the
// file it was made with and browsers may keep it for a year.
type assets struct {
	byName map[string]string // crieur.css -> crieur.3f2a9c1d.css
	files  map[string][]byte // crieur.3f2a9c1d.css -> content
}

func loadAssets() assets {
	a := assets{byName: map[string]string{}, files: map[string][]byte{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, e := range entries {
		data, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(e.Name())
		versioned := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:4]) + ext
		a.byName[e.Name()], a.files[versioned] = versioned, data
	}
	return a
}

// url is the versioned address of a static file.
func (a assets) url(name string) string {
	v, ok := a.byName[name]
	if !ok {
		panic("no static file " + name) // a template names a file that is not embedded
	}
	return staticPrefix + v
}

// funcs are the template functions every page's templates may use.
func (a assets) funcs() template.FuncMap {
	// plainHTML: a board's summary, its lines and links as written.
	return template.FuncMap{"asset": a.url, "plainHTML": func(s string) template.HTML { return template.HTML(markdown.PlainHTML(s)) }} //nolint:gosec // PlainHTML escapes all it does not make
}

// serve answers a versioned static file; an old version (a page cached
// before an upgrade) is not kept: 404, and the page's next load links the
// new one.
func (a assets) serve(w http.ResponseWriter, r *http.Request) {
	data, ok := a.files[r.PathValue("name")]
	if !ok {
		NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(r.PathValue("name"))))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
