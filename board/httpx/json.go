package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"crieur/board"
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

// Fail answers err as a JSON error; a server error is logged once, with the
// request, and its cause is never sent.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := Classify(err)
	LogServerError(r, log, e)
	JSON(w, e.Status, errorBody{Error: e.Safe, Fields: e.Fields})
}

// LogServerError logs e when it is the server's fault (5xx).
func LogServerError(r *http.Request, log *slog.Logger, e *Error) {
	if e.Status >= 500 && log != nil {
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
	// at all (an example of what to send).
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
		return o.jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return o.invalid("body", "must hold exactly one JSON object")
	}
	return nil
}

func (o Decoding) invalid(field, msg string) error {
	if o.Help != "" {
		field, msg = "body", o.Help
	}
	return &board.ValidationError{Fields: map[string]string{field: msg}}
}

func (o Decoding) jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &syn):
		return o.invalid("body", fmt.Sprintf("is not valid JSON (at byte %d)", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return o.invalid(field, "must be "+jsonTypeName(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return o.invalid("body", "is empty or cut short; send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		what := o.What
		if what == "" {
			what = "this request"
		}
		return o.invalid(name, "is not a field of "+what)
	case strings.Contains(err.Error(), "parsing time"):
		return o.invalid("time", "times must be RFC 3339, e.g. 2026-12-05T14:00:00+01:00")
	default:
		return o.invalid("body", err.Error())
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64":
		return "a whole number"
	case "slice":
		return "a list"
	case "struct", "ptr":
		return "an object"
	default:
		return "a " + kind
	}
}
