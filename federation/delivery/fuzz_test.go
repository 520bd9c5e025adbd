package delivery

import (
	"encoding/json"
	"testing"
)

// Redis stream entries are read back as jobs and outcomes; whatever is in
// the stream (another version's entry, a hand-made one), reading it either
// yields a well-formed job or an error, never a panic.
func FuzzStreamEntries(f *testing.F) {
	f.Add("ap:1:https://a.example/inbox", "ap.deliver", "12", "https://a.example/inbox", `{"board":"news"}`, "0", "1700000000000", `{"outbox":3,"target":"t","state":"delivered","attempts":1}`)
	f.Add("", "", "x", "", "", "-1", "", `{"outbox":"3"}`)
	f.Fuzz(func(t *testing.T, id, kind, outbox, target, payload, attempts, created, outcome string) {
		j, err := jobFromFields("1-0", map[string]any{"id": id, "kind": kind, "outbox": outbox, "target": target, "payload": payload, "attempts": attempts, "created": created})
		if err == nil && (j.ID == "" || j.Kind == "") {
			t.Fatalf("a job without id or kind was accepted: %+v", j)
		}
		var o Outcome
		_ = json.Unmarshal([]byte(outcome), &o)
	})
}
