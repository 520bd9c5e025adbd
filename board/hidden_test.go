package board_test

import (
	"errors"
	"fmt"
	"testing"

	"crieur/board"
)

// Titles and role names refuse characters that show nothing or break the
// line, naming the character and where it is, and are kept as NFC: "cook"
// and "co\u200bok" were two roles of one call, and "Café" typed two ways
// two more (issue 23, point 10). A zero width joiner inside an emoji stays.
func TestHiddenCharactersAreRefusedAndNamesNormalised(t *testing.T) {
	call := func(names ...string) *board.Call {
		c := &board.Call{Contact: "fair@example.org"}
		for _, n := range names {
			c.Roles = append(c.Roles, board.Role{Name: n, Places: 1})
		}
		return c
	}
	for _, c := range []struct {
		d     board.Draft
		field string
		args  string
	}{
		{board.Draft{Kind: board.KindCall, Title: "Cooks", Call: call("cook", "co\u200bok")}, "call.roles[1].name", "[U+200B 3]"},
		{board.Draft{Title: "Fair\u200e day"}, "title", "[U+200E 5]"},
		{board.Draft{Title: "Fair\u061cday"}, "title", "[U+061C 5]"},
		{board.Draft{Title: "Fair\u2028day"}, "title", "[U+2028 5]"},
		{board.Draft{Title: "\ufeffFair"}, "title", "[U+FEFF 1]"},
	} {
		err := c.d.Normalize()
		var ve *board.ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field].Key != "problem.hidden_char" || fmt.Sprint(ve.Fields[c.field].Args) != c.args {
			t.Errorf("%q: %v; want problem.hidden_char %s on %s", c.d.Title, err, c.args, c.field)
		}
	}
	ok := board.Draft{Kind: board.KindCall, Title: "Cafe\u0301 crew", Call: call("\U0001F469\u200D\U0001F373 cook", "driver")}
	if err := ok.Normalize(); err != nil {
		t.Fatalf("an emoji with a joiner, a decomposed é: %v", err)
	}
	if ok.Title != "Café crew" {
		t.Errorf("the title is not NFC: %q", ok.Title)
	}
	twice := board.Draft{Kind: board.KindCall, Title: "Crew", Call: call("Café", "Cafe\u0301")}
	var ve *board.ValidationError
	if err := twice.Normalize(); !errors.As(err, &ve) || ve.Fields["call.roles[1].name"].Key != "problem.twice" {
		t.Errorf("é written two ways made two roles: %v", err)
	}
}
