package web

import (
	"cmp"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// historyLine is one entry of a call's ledger as an editor reads it:
// who answered, from where, when, and what became of it.
type historyLine struct {
	When time.Time
	Who  string
	Via  string // the channel, as the sign-ups table names it
	What string
}

// history tells a call's ledger in the editor's language, newest first;
// names come from the sign-ups (the ledger keeps only who, by id).
func history(l locale.Locale, answers []board.Answer, signups []board.Signup) []historyLine {
	names := map[string]string{}
	for _, su := range signups {
		if su.Person.Name != "" {
			names[su.Person.Kind+" "+su.Person.ID] = su.Person.Name
		}
	}
	lines := make([]historyLine, 0, len(answers))
	for i := len(answers) - 1; i >= 0; i-- {
		a := answers[i]
		who := cmp.Or(a.Person.Name, names[a.Person.Kind+" "+a.Person.ID])
		if who == "" {
			who = a.Person.ID
			if a.Person.Kind == board.PersonWeb || a.Person.Kind == board.PersonEditor {
				who = l.T("editor.history.someone") // a form's key says nothing to a reader
			}
		}
		var what []string
		switch a.Outcome {
		case board.AnswerWithdrawn:
			what = append(what, l.T("editor.history.withdrawn_"+a.Why, l.Roles(a.Roles)))
		default:
			if len(a.Roles) == 0 {
				what = append(what, l.T("editor.history.answered_none"))
			} else {
				what = append(what, l.T("editor.history.answered", l.Roles(a.Roles)))
			}
			switch a.Outcome {
			case board.AnswerRefused:
				what = append(what, l.T("editor.history.refused_"+a.Why))
			case board.AnswerSuperseded:
				what = append(what, l.T("editor.history.superseded"))
			default:
				r := a.Result
				for _, part := range []struct {
					key   string
					roles []string
				}{{"confirmed", r.Confirmed}, {"waiting", r.Waiting}, {"full", r.Full}, {"already", r.Already}, {"dropped", r.Dropped}} {
					if len(part.roles) > 0 {
						what = append(what, l.T("editor.history."+part.key, l.Roles(part.roles)))
					}
				}
			}
		}
		lines = append(lines, historyLine{When: a.RecordedAt, Who: who, Via: l.T("editor.via_" + a.Person.Kind), What: strings.Join(what, l.T("editor.history.then"))})
	}
	return lines
}
