package activitypub

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"crieur/board"
)

// Mastodon keeps only the words of a link whose scheme is not one of its
// LINK_PROTOCOLS (lib/sanitize_ext/sanitize_config.rb,
// UNSUPPORTED_HREF_TRANSFORMER): "[Write to us](mailto:…)" read "Write to
// us" there, the address gone (a trial). The address now follows such a
// link's words, unless they already say it.
func TestMailtoLinksKeepTheirAddressOnMastodon(t *testing.T) {
	s, svc, _, b := followedBoard(t)
	ctx := context.Background()
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Contact", Language: "en",
		Body: "[Write to us](mailto:contact@asso.example) or to [desk@asso.example](mailto:desk@asso.example)."}, ""); err != nil {
		t.Fatal(err)
	}
	acts := activities(t, s, svc)
	obj, _ := acts[0]["object"].(map[string]any)
	content, _ := obj["content"].(string)
	// What Mastodon shows: an unsupported link becomes its words.
	shown := regexp.MustCompile(`<a href="mailto:[^"]*"[^>]*>([^<]*)</a>`).ReplaceAllString(content, "$1")
	if !strings.Contains(shown, "Write to us (contact@asso.example) or to desk@asso.example.") {
		t.Errorf("Mastodon shows %q", shown)
	}
}
