package activitypub

import (
	"bytes"
	"encoding/json"
)

// A delivery's payload is the JSON of deliverPayload, the activity last:
// {"board":…,"key_id":…,"inbox":…,"activity":{…}}. encoding/json checks
// and compacts a RawMessage byte by byte, when it writes one and when it
// reads one: for a 1.5 kB activity, json.Unmarshal took 3.3 % of
// crieur-bench's delivery workers' CPU (11 µs a payload alone, 1.8 µs
// now: BenchmarkPayloadDecode), and a fan-out compacted each inbox's copy
// twice. The activity's bytes come from json.Marshal, once per fan-out,
// so they are copied as they are. The bytes are the same as json.Marshal
// writes, so a queue written by an earlier or a later release reads the
// same (a rollback included).

// activityKey starts the last member. A string value cannot hold it: its
// quote would be escaped there.
var activityKey = []byte(`,"activity":`)

// encodePayload writes what json.Marshal(p) writes, the activity as it is;
// p.Activity must be the output of json.Marshal.
func encodePayload(p deliverPayload) ([]byte, error) {
	head, err := json.Marshal(deliverPayload{Board: p.Board, KeyID: p.KeyID, Inbox: p.Inbox, Activity: json.RawMessage("null")})
	if err != nil {
		return nil, err
	}
	head = head[:len(head)-len(`null}`)]
	out := make([]byte, 0, len(head)+len(p.Activity)+1)
	out = append(append(append(out, head...), p.Activity...), '}')
	return out, nil
}

// decodePayload reads what encodePayload wrote without going through the
// activity (it trusts its writer: the queue is Crieur's own); anything
// else (fields in another order or missing, spaces) is read by
// json.Unmarshal, which checks it all.
func decodePayload(raw []byte) (deliverPayload, error) {
	var p deliverPayload
	i := bytes.Index(raw, activityKey)
	if i < 0 || len(raw) < i+len(activityKey)+2 || raw[len(raw)-1] != '}' || raw[i+len(activityKey)] != '{' || raw[len(raw)-2] != '}' {
		err := json.Unmarshal(raw, &p)
		return p, err
	}
	head := append(raw[:i:i], '}')
	if err := json.Unmarshal(head, &p); err != nil || p.Activity != nil || p.Board == "" || p.KeyID == "" || p.Inbox == "" {
		// Not what encodePayload writes: the whole of it, checked.
		p = deliverPayload{}
		err := json.Unmarshal(raw, &p)
		return p, err
	}
	p.Activity = raw[i+len(activityKey) : len(raw)-1]
	return p, nil
}
