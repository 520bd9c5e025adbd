package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

//go:embed messages/*.toml
var messages embed.FS

// Catalogue is every language's messages, one file per language, by
// symbolic key. It is built once and only read afterwards.
type Catalogue struct {
	builder *catalog.Builder
	tags    []language.Tag // English first: the fallback
	matcher language.Matcher
	// printers are built once per language: a Locale is made per page
	// and per delivery.
	printers map[language.Tag]*message.Printer
	lists    map[language.Tag]map[string][]string
	names    map[language.Tag]string
	// groups are the thousands separators a language's file asks for
	// where CLDR's data (golang.org/x/text's) has another: French writes
	// 3 000 with a narrow no-break space, the data a wide one.
	groups map[language.Tag][2]string
	// texts are each message's text as written (every plural form), for
	// the tests that read the files' typography.
	texts map[language.Tag]map[string][]string
}

// pluralForms are CLDR's plural categories, the keys of a plural message.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// Builtin is the catalogue Crieur ships: messages/*.toml.
func Builtin() *Catalogue { return builtin }

var builtin = func() *Catalogue {
	sub, err := fs.Sub(messages, "messages")
	if err != nil {
		panic(err)
	}
	c, err := Load(sub)
	if err != nil {
		panic(err) // the embedded files are checked by the package's tests
	}
	return c
}()

// Load reads every <tag>.toml at the root of each file system into one
// catalogue; a later file system's language replaces an earlier one's.
// English must be among them: it is the fallback.
func Load(systems ...fs.FS) (*Catalogue, error) {
	c := &Catalogue{
		builder:  catalog.NewBuilder(catalog.Fallback(language.English)),
		printers: map[language.Tag]*message.Printer{},
		lists:    map[language.Tag]map[string][]string{},
		names:    map[language.Tag]string{},
		groups:   map[language.Tag][2]string{},
		texts:    map[language.Tag]map[string][]string{},
	}
	files := map[language.Tag][]byte{}
	for _, fsys := range systems {
		names, err := fs.Glob(fsys, "*.toml")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			tag, err := language.Parse(strings.TrimSuffix(path.Base(name), ".toml"))
			if err != nil {
				return nil, fmt.Errorf("%s: the file's name must be a language tag: %w", name, err)
			}
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, err
			}
			files[tag] = data
		}
	}
	if _, ok := files[language.English]; !ok {
		return nil, fmt.Errorf("no en.toml: English is every other language's fallback")
	}
	for tag, data := range files {
		var tree map[string]any
		if _, err := toml.Decode(string(data), &tree); err != nil {
			return nil, fmt.Errorf("%s.toml: %w", tag, err)
		}
		c.lists[tag], c.texts[tag] = map[string][]string{}, map[string][]string{}
		if err := c.add(tag, "", tree); err != nil {
			return nil, fmt.Errorf("%s.toml: %w", tag, err)
		}
		c.tags = append(c.tags, tag)
	}
	sort.Slice(c.tags, func(i, j int) bool {
		if c.tags[i] == language.English || c.tags[j] == language.English {
			return c.tags[i] == language.English
		}
		return c.tags[i].String() < c.tags[j].String()
	})
	c.matcher = language.NewMatcher(c.tags)
	for _, tag := range c.tags {
		c.printers[tag] = message.NewPrinter(tag, message.Catalog(c.builder))
		if want, ok := c.texts[tag]["number.group"]; ok {
			thousand := []rune(c.printers[tag].Sprintf("%d", 1000))
			if have := string(thousand[1 : len(thousand)-3]); have != want[0] {
				c.groups[tag] = [2]string{have, want[0]}
			}
		}
	}
	return c, nil
}

// add flattens a file's tables into dotted keys ("fact.when"): a string is
// a message, a list of strings a list (month names), and a table of
// plural forms one message chosen by CLDR's rule for the language.
func (c *Catalogue) add(tag language.Tag, prefix string, tree map[string]any) error {
	for k, v := range tree {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch v := v.(type) {
		case string:
			if key == "name" {
				c.names[tag] = v
				continue
			}
			if err := c.builder.SetString(tag, key, v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			c.texts[tag][key] = []string{v}
		case []any:
			for _, s := range v {
				s, ok := s.(string)
				if !ok {
					return fmt.Errorf("%s: a list holds strings only", key)
				}
				c.lists[tag][key] = append(c.lists[tag][key], s)
			}
		case map[string]any:
			if _, ok := v["other"]; !ok {
				if err := c.add(tag, key, v); err != nil {
					return err
				}
				continue
			}
			arg := 1
			if n, ok := v["arg"].(int64); ok {
				arg = int(n)
			}
			var cases []any
			for _, form := range pluralForms {
				if s, ok := v[form].(string); ok {
					cases = append(cases, form, s)
					c.texts[tag][key] = append(c.texts[tag][key], s)
				}
			}
			for f := range v {
				if f != "arg" && !isPluralForm(f) {
					return fmt.Errorf("%s: %q is not a plural form (%s)", key, f, strings.Join(pluralForms, ", "))
				}
			}
			if err := c.builder.Set(tag, key, plural.Selectf(arg, "%d", cases...)); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		default:
			return fmt.Errorf("%s: a message is a string, a list or a table of plural forms", key)
		}
	}
	return nil
}

func isPluralForm(f string) bool {
	for _, p := range pluralForms {
		if p == f {
			return true
		}
	}
	return false
}

// Languages are the catalogue's languages, English first.
func (c *Catalogue) Languages() []language.Tag { return append([]language.Tag(nil), c.tags...) }

// Name is a language's name in itself ("Français"), for a switcher.
func (c *Catalogue) Name(tag language.Tag) string { return c.names[tag] }

// Keys are the message keys of a language, sorted.
func (c *Catalogue) Keys(tag language.Tag) []string {
	var keys []string
	for k := range c.texts[tag] {
		keys = append(keys, k)
	}
	for k := range c.lists[tag] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Texts are a message's texts as its language's file writes them, every
// plural form, before any argument is formatted in.
func (c *Catalogue) Texts(tag language.Tag, key string) []string {
	return append([]string(nil), c.texts[tag][key]...)
}

// Has says whether key is in language tag's file.
func (c *Catalogue) Has(tag language.Tag, key string) bool {
	_, list := c.lists[tag][key]
	_, text := c.texts[tag][key]
	return text || list
}

// Supports says whether the catalogue has lang or a language close to it.
func (c *Catalogue) Supports(lang string) bool {
	tag, err := language.Parse(lang)
	if err != nil {
		return false
	}
	_, _, conf := c.matcher.Match(tag)
	return conf != language.No
}

// For is the locale of a language tag ("fr", "fr-CA"), the closest the
// catalogue has; English when it has none close.
func (c *Catalogue) For(lang string) Locale { return c.Negotiate(lang) }

// Negotiate picks a reader's language from what they asked for, in order
// of preference (an explicit choice, then Accept-Language headers, then
// fallbacks such as a board's language); English when none matches.
func (c *Catalogue) Negotiate(choices ...string) Locale {
	var nonEmpty []string
	for _, s := range choices {
		if strings.TrimSpace(s) != "" {
			nonEmpty = append(nonEmpty, s)
		}
	}
	t := language.English
	if len(nonEmpty) > 0 {
		_, i, conf := c.matcher.Match(parseAll(nonEmpty)...)
		if conf != language.No {
			t = c.tags[i]
		}
	}
	return Locale{Tag: t, cat: c, p: c.printers[t]}
}

// parseAll reads each choice as an Accept-Language value or a tag, keeping
// their order: the first choice wins over the second's weights.
func parseAll(choices []string) []language.Tag {
	var tags []language.Tag
	for _, s := range choices {
		ts, _, err := language.ParseAcceptLanguage(s)
		if err != nil {
			continue
		}
		tags = append(tags, ts...)
	}
	return tags
}
