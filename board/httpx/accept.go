package httpx

import (
	"iter"
	"mime"
	"net/http"
	"strings"
)

// AcceptedTypes is the media ranges of r's Accept header, each with its
// parameters, in the order given; a range that does not parse is skipped.
// Quality values are not weighed: the callers ask whether a type is
// named at all. The one reading of the header, for every route.
func AcceptedTypes(r *http.Request) iter.Seq2[string, map[string]string] {
	return func(yield func(string, map[string]string) bool) {
		for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if !yield(mt, params) {
				return
			}
		}
	}
}

// AcceptsHTML reports whether r names text/html among the types it
// accepts: a browser's navigation (the request a person waits on for a
// page), which fetches, feed readers and other servers do not send.
func AcceptsHTML(r *http.Request) bool {
	for mt := range AcceptedTypes(r) {
		if mt == "text/html" {
			return true
		}
	}
	return false
}
