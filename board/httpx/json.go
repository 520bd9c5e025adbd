package httpx

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// JSON answers v as indented JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// JSONAs answers v as compact JSON of contentType (ActivityPub's
// application/activity+json, NodeInfo's profile): the bytes peers parse.
func JSONAs(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorBody is how every JSON error reads.
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

// Explain says each field's problem in l's language: where the domain's
// problems become words, for the API's answers and the editor's forms.
func Explain(l locale.Locale, problems board.Problems) map[string]string {
	if len(problems) == 0 {
		return nil
	}
	out := make(map[string]string, len(problems))
	for field, p := range problems {
		out[field] = l.Problem(p)
	}
	return out
}

// ClientLocale is the language an API client asks for (Accept-Language),
// English when it asks for none the catalogue has: scripts and the CLI
// read English.
func ClientLocale(r *http.Request) locale.Locale {
	return locale.Negotiate(r.Header.Get("Accept-Language"), "en")
}

// Say says problems in the client's language, in their order.
func Say(r *http.Request, problems []board.Problem) []string {
	l := ClientLocale(r)
	out := make([]string, 0, len(problems))
	for _, p := range problems {
		out = append(out, l.Problem(p))
	}
	return out
}

// Fail answers err as a JSON error; a server error is logged once, with the
// request, and its cause is never sent.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := Classify(err)
	LogServerError(r, log, e)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := errorBody{Error: e.Safe}
	if len(e.Fields) > 0 {
		l := ClientLocale(r)
		body.Error, body.Fields = l.T("problem.fields"), Explain(l, e.Fields)
	}
	JSON(w, e.Status, body)
}

// LogServerError logs e when it is the server's fault (5xx).
func LogServerError(r *http.Request, log *slog.Logger, e *Error) {
	// A TryLater (busy, over a limit) is the server holding back on
	// purpose, not a failure.
	if e.Status >= 500 && e.RetryAfter == 0 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", e.Err)
	}
}

// Decoding options.
type Decoding struct {
	// Max is the largest body accepted, in bytes.
	Max int64
	// RequireJSON refuses a body not sent as application/json (415).
	RequireJSON bool
	// What names the object in messages ("an announcement").
	What string
	// Help, when set, replaces the message of a body that cannot be read
	// at all: an example of what to send, as JSON.
	Help string
}

// DecodeJSON reads a request body into v strictly: one JSON object, no
// unknown field, no trailing data, every type right. Its errors are
// *Error or *board.ValidationError naming the field, ready for Fail.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, o Decoding) error {
	raw, err := ReadJSON(w, r, o)
	if err != nil {
		return err
	}
	return Decode(raw, v, o)
}

// ReadJSON reads a request body of at most o.Max bytes, sent as JSON when
// o.RequireJSON, so that it can be decoded later (into the current draft
// of an announcement, for a partial edit).
func ReadJSON(w http.ResponseWriter, r *http.Request, o Decoding) ([]byte, error) {
	if o.RequireJSON {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			what := o.What
			if what == "" {
				what = "the request"
			}
			return nil, NewError(http.StatusUnsupportedMediaType, "send "+what+" as JSON with 'Content-Type: application/json'")
		}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, o.Max))
}

// Decode reads raw into v strictly, as DecodeJSON does.
func Decode(raw []byte, v any, o Decoding) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) {
			// encoding/json hands a time's error on without the field:
			// the field is the one whose value did not parse.
			return o.invalid(cmp.Or(pathOf(raw, pe.Value), "time"), "problem.rfc3339")
		}
		return o.jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return o.invalid("body", "problem.one_object")
	}
	return nil
}

func (o Decoding) invalid(field, key string, args ...any) error {
	if o.Help != "" {
		field, key, args = "body", "problem.send", []any{o.Help}
	}
	return board.Invalid(field, key, args...)
}

func (o Decoding) jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &syn):
		return o.invalid("body", "problem.json_syntax", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return o.invalid(field, jsonTypeProblem(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return o.invalid("body", "problem.json_short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return o.invalid(name, "problem.unknown_field")
	case strings.Contains(err.Error(), "parsing time"):
		return o.invalid("time", "problem.rfc3339")
	default:
		return o.invalid("body", "problem.json", err.Error())
	}
}

// jsonTypeProblem says which JSON type a field takes.
func jsonTypeProblem(kind string) string {
	switch kind {
	case "string":
		return "problem.want_string"
	case "int", "int64":
		return "problem.want_integer"
	case "float64":
		return "problem.want_number"
	case "bool":
		return "problem.want_bool"
	case "slice":
		return "problem.want_list"
	default:
		return "problem.want_object"
	}
}

// pathOf is the dotted path ("outage.from") of the first string in the
// JSON document raw whose value is value, or "" if none is.
func pathOf(raw []byte, value string) string {
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	var walk func(v any, path string) string
	walk = func(v any, path string) string {
		switch v := v.(type) {
		case string:
			if v == value {
				return path
			}
		case map[string]any:
			keys := slices.Sorted(maps.Keys(v))
			for _, k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if found := walk(v[k], p); found != "" {
					return found
				}
			}
		case []any:
			for i, e := range v {
				if found := walk(e, fmt.Sprintf("%s[%d]", path, i)); found != "" {
					return found
				}
			}
		}
		return ""
	}
	return walk(doc, "")
}
