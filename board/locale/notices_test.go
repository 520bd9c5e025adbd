package locale_test

import (
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

// The posts Crieur writes by itself (a campaign's milestones and thanks,
// a training's reminder) speak the announcement's language, its board's
// zone.
func TestNoticesInFrench(t *testing.T) {
	b := boardtest.FrenchBoard()
	var campaign, training board.Announcement
	for _, a := range boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		switch a.Kind {
		case board.KindCampaign:
			campaign = a
		case board.KindTraining:
			training = a
		}
	}
	n := locale.Notices{}
	title, body := n.Milestone(b, campaign, 50)
	if title != "50\u202f% de l’objectif pour «\u202fUn serveur neuf\u202f»\u202f: merci\u202f!" {
		t.Errorf("milestone %q", title)
	}
	boardtest.NoEnglish(t, "milestone", title+"\n"+body)
	if !strings.Contains(body, "Collecté\u202f: 1\u202f240\u00a0€ sur 3\u202f000\u00a0€ (41\u202f%)") {
		t.Errorf("milestone body %q", body)
	}
	boardtest.NoEnglish(t, "thanks", n.ThankYou(b, campaign))
	title, body = n.Reminder(b, training, "https://asso.example/a/6")
	boardtest.NoEnglish(t, "reminder", title+"\n"+body)
	if title != "Demain\u202f: Initiation à Git" || !strings.Contains(body, "- **Quand\u202f:** ven. 18 déc. 2026, 19:00 – 22:00 (heure de Paris)") ||
		!strings.Contains(body, "Détails et inscription\u202f: https://asso.example/a/6") {
		t.Errorf("reminder %q:\n%s", title, body)
	}
	// An English announcement on the French board is reminded in English.
	training.Language = "en"
	if title, _ := n.Reminder(b, training, ""); title != "Tomorrow: Initiation à Git" {
		t.Errorf("an English training's reminder: %q", title)
	}
}
