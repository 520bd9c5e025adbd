package httpx

import (
	"errors"
	"testing"

	"crieur/board"
)

// A time that does not parse is named by its field, as every other
// problem is: a trial's "demain soir" was reported under "time", a field
// the request does not have.
func TestBadTimeNamesItsField(t *testing.T) {
	var d board.Draft
	for raw, want := range map[string]string{
		`{"kind":"outage","outage":{"service":"mail","from":"demain soir"}}`:                     "outage.from",
		`{"kind":"event","event":{"start":"2026-12-20T10:00:00Z","end":"2026-13-45T10:00:00Z"}}`: "event.end",
		`{"publish_at":"tomorrow"}`: "publish_at",
	} {
		err := Decode([]byte(raw), &d, Decoding{})
		var ve *board.ValidationError
		if !errors.As(err, &ve) || ve.Fields[want].Key != "problem.rfc3339" {
			t.Errorf("%s: %v, want problem.rfc3339 on %s", raw, err, want)
		}
	}
}
