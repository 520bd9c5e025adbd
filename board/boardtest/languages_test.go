package boardtest

import "testing"

// The English detector sees English labels and sentences, and not their
// French translations: the French tests that use it can fail.
func TestEnglishWordsAreSeen(t *testing.T) {
	match := func(s string) bool {
		for _, w := range englishWords() {
			if w.MatchString(s) {
				return true
			}
		}
		return false
	}
	for _, en := range []string{"When: Fri 18 Dec", "Volunteers needed: cook", "Read it on the board", "Event: Soirée", "3 of 12 available", "Call for volunteers"} {
		if !match(en) {
			t.Errorf("%q is not seen as English", en)
		}
	}
	for _, fr := range []string{"Quand\u202f: ven. 18 déc.", "Bénévoles recherchés\u202f: cuisine", "À lire sur le tableau", "Événement\u202f: Soirée", "Service\u202f: Messagerie"} {
		if match(fr) {
			t.Errorf("%q is seen as English", fr)
		}
	}
}
