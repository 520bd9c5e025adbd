package board

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The public pages speak English or French, chosen per request. Every
// string goes through one catalogue, keyed by its English text: another
// language is one more table like french below.

var (
	languages = []language.Tag{language.English, language.French}
	matcher   = language.NewMatcher(languages)
	// pageCatalog is built once at start and only read afterwards.
	pageCatalog = func() catalog.Catalog {
		b := catalog.NewBuilder(catalog.Fallback(language.English))
		for key, fr := range french {
			_ = b.SetString(language.French, key, fr)
		}
		return b
	}()
)

// Locale renders a page's words and dates in one language.
type Locale struct {
	Tag  language.Tag
	p    *message.Printer
	zone *time.Location // the board's; nil keeps times as given
}

// boardLocale is the locale of a board's page: its language as fallback,
// its time zone for the times shown.
func boardLocale(r *http.Request, b Board) Locale {
	l := LocaleFor(r, b.Language)
	if b.TimeZone != "" {
		l.zone = b.Location()
	}
	return l
}

// local shows t in the board's zone when that is the offset it was given
// (14:00 (CET) rather than 14:00 (+0100)); any other offset stays as the
// editor wrote it, since the board's zone would change its wall clock.
func (l Locale) local(t time.Time) time.Time {
	if l.zone == nil {
		return t
	}
	_, given := t.Zone()
	if _, off := t.In(l.zone).Zone(); off == given {
		return t.In(l.zone)
	}
	return t
}

// LocaleFor picks the page's language: ?lang= first, then the browser's
// Accept-Language, then the board's language (fallback), then English.
func LocaleFor(r *http.Request, fallback ...string) Locale {
	tag, _ := language.MatchStrings(matcher, append([]string{r.URL.Query().Get("lang"), r.Header.Get("Accept-Language")}, fallback...)...)
	base, _ := tag.Base()
	t := language.English
	if base.String() == "fr" {
		t = language.French
	}
	return Locale{Tag: t, p: message.NewPrinter(t, message.Catalog(pageCatalog))}
}

// English is the locale of federated posts and of the API.
var English = Locale{Tag: language.English, p: message.NewPrinter(language.English, message.Catalog(pageCatalog))}

// T translates a catalogue string, formatting args into it. A zero
// Locale is English.
func (l Locale) T(key string, args ...any) string {
	p := l.p
	if p == nil {
		p = English.p
	}
	return p.Sprintf(message.Key(key, key), args...)
}

// Lang is the page's language tag, for <html lang>.
func (l Locale) Lang() string { return l.Tag.String() }

var (
	frDays   = []string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	frMonths = []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// Time formats a moment the way readers of the language write it,
// keeping the offset the editor gave.
func (l Locale) Time(t time.Time) string {
	t = l.local(t)
	if l.Tag == language.French {
		return fmt.Sprintf("%s %d %s %d, %s (%s)", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04"), t.Format("MST"))
	}
	return formatTime(t)
}

// Date formats a day and a time without the weekday (page footers): a
// moment Crieur recorded, shown in the board's zone when it has one.
func (l Locale) Date(t time.Time) string {
	if l.zone != nil {
		t = t.In(l.zone)
	}
	if l.Tag == language.French {
		return fmt.Sprintf("%d %s %d, %s", t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04 MST"))
	}
	return t.Format("2 Jan 2006 15:04 MST")
}

// Label translates a fact's label or a kind's name.
func (l Locale) Label(s string) string { return l.T(s) }

// french is the French table of the catalogue.
var french = map[string]string{
	// Kinds, facts, states.
	"Training": "Formation", "Cancelled": "Annulée", "this training will not take place": "cette formation n’aura pas lieu",
	"Seats: %s": "Places : %s", "Online": "En ligne", "Level": "Niveau", "What to bring": "À apporter", "Seats": "Places",
	"%d seat": "%d place", "%d seats": "%d places", "%d of %d seat left": "%d place restante sur %d", "%d of %d seats left": "%d places restantes sur %d",
	"full (%d seat)": "complet (%d place)", "full (%d seats)": "complet (%d places)",
	"full (%d seat): waiting list open": "complet (%d place) : liste d’attente ouverte", "full (%d seats): waiting list open": "complet (%d places) : liste d’attente ouverte",
	"; registration closed": " ; inscriptions closes", "Tomorrow: %s": "Demain : %s", "Details and registration:": "Détails et inscription :",
	"Register": "S’inscrire", "Registration is closed.": "Les inscriptions sont closes.",
	"Sorry, registration for this training has just closed.":                                      "Désolé, les inscriptions à cette formation viennent de fermer.",
	"You are registered. See you there!":                                                          "Vous êtes inscrit·e. À bientôt !",
	"The training is full: you are on the waiting list, and have a seat as soon as one frees up.": "La formation est complète : vous êtes sur la liste d’attente, et aurez une place dès qu’une se libère.",
	"Sorry, the last seat went just before you registered.":                                       "Désolé, la dernière place est partie juste avant votre inscription.",
	"News": "Actualité", "Event": "Événement", "Call for volunteers": "Appel à bénévoles", "Service outage": "Panne de service",
	"When": "Quand", "Where": "Où", "More": "En savoir plus", "Volunteers needed": "Bénévoles recherchés",
	"Answer before": "Répondre avant le", "How to answer": "Comment répondre", "Sign-ups": "Inscriptions", "closed": "closes",
	"Service": "Service", "From": "Début", "Until": "Fin", "Resolved": "Résolu", "Ended": "Terminé", "Donation campaign": "Campagne de dons", "Raised": "Collecté", "Give": "Donner", "Good to know": "Bon à savoir", "%s of %s (%d %%)": "%s sur %s (%d %%)", "%d %% of the goal for “%s”: thank you!": "%d %% de l’objectif pour « %s » : merci !",
	"Goal reached for “%s”: thank you!": "Objectif atteint pour « %s » : merci !", "Thank you: %s": "Merci : %s", "not known yet": "pas encore connue",
	"planned": "prévue", "ongoing": "en cours", "resolved": "résolue",
	"%s (%d place)": "%s (%d place)", "%s (%d places)": "%s (%d places)",
	"%s (full: %d of %d)":         "%s (complet : %d sur %d)",
	"%s (%d of %d places left)":   "%s (%d places restantes sur %d)",
	"%s (%d of %d place left)":    "%s (%d place restante sur %d)",
	"%d of %d places left":        "%d places restantes sur %d",
	"%d of %d place left":         "%d place restante sur %d",
	"full":                        "complet",
	"full: join the waiting list": "complet : liste d'attente",
	// Board, announcement, events and status pages.
	"Follow this board from Mastodon or any fediverse account: search for": "Suivez ce tableau depuis Mastodon ou tout compte du fédivers : cherchez",
	"Or subscribe to its":         "Ou abonnez-vous à son",
	"news feed (Atom)":            "fil d'actualité (Atom)",
	"or its":                      "ou à son",
	"events calendar (iCalendar)": "agenda (iCalendar)",
	"This board":                  "Ce tableau",
	"Events":                      "Événements",
	"Service status":              "État des services",
	"Ongoing outage:":             "Panne en cours :",
	"Announcements tagged":        "Annonces avec le mot-clé",
	"all":                         "toutes",
	"Nothing announced yet.":      "Rien d'annoncé pour l'instant.",
	"More announcements":          "Autres annonces",
	"Newest":                      "Les plus récentes",
	"Older":                       "Plus anciennes",
	"edited":                      "modifiée le",
	"Add to my calendar (.ics)":   "Ajouter à mon agenda (.ics)",
	"Published with Crieur.":      "Publié avec Crieur.",
	"Sign up":                     "S'inscrire",
	"Role":                        "Rôle",
	"Roles (one or more)":         "Rôles (un ou plusieurs)",
	"Your name":                   "Votre nom",
	"How to reach you (optional: e-mail or phone; only the organisers see it)": "Comment vous joindre (facultatif : courriel ou téléphone ; seuls les organisateurs le voient)",
	"Sign-ups are closed.":                      "Les inscriptions sont closes.",
	"Keep this private link to withdraw later:": "Gardez ce lien privé pour vous désinscrire plus tard :",
	"Too long to send":                          "Trop long pour être envoyé",
	"This form is larger than 256 KB, so nothing was saved. Go back (your text is still there), shorten it and send it again.": "Ce formulaire dépasse 256 Ko : rien n'a été enregistré. Revenez en arrière (votre texte y est encore), raccourcissez-le et renvoyez-le.",
	"Form not understood":                     "Formulaire incompréhensible",
	"Go back, reload the page and try again.": "Revenez en arrière, rechargez la page et réessayez.",
	"This form has expired":                   "Ce formulaire a expiré",
	"Nothing was saved. Go back, copy your text, reload the page and send it again.": "Rien n'a été enregistré. Revenez en arrière, copiez votre texte, rechargez la page et renvoyez-le.",
	"Withdraw – %s":                           "Se désinscrire – %s",
	"Nothing to withdraw":                     "Rien à annuler",
	"This link does not belong to a sign-up.": "Ce lien ne correspond à aucune inscription.",
	"Withdraw your sign-up?":                  "Annuler votre inscription ?",
	"You signed up for “%s”. If you can no longer come, withdraw here: your place goes to someone else.": "Vous vous êtes inscrit·e à « %s ». Si vous ne pouvez plus venir, désinscrivez-vous ici : votre place ira à quelqu'un d'autre.",
	"Nothing withdrawn":                                    "Rien n'a été annulé",
	"Withdraw from this site's own page.":                  "Désinscrivez-vous depuis la page de ce site.",
	"Already withdrawn":                                    "Déjà désinscrit·e",
	"Your sign-up was already withdrawn.":                  "Votre inscription était déjà annulée.",
	"Withdrawn":                                            "Désinscription faite",
	"Your sign-up is withdrawn. Thank you for telling us!": "Votre inscription est annulée. Merci de nous avoir prévenus !",
	"Withdraw my sign-up":                                  "Annuler mon inscription",
	"Back to “%s”":                                         "Retour à « %s »",
	"Coming up":                                            "À venir",
	"Past events":                                          "Événements passés",
	"Nothing planned yet.":                                 "Rien de prévu pour l'instant.",
	"Add them all to your calendar:":                       "Ajoutez-les tous à votre agenda :",
	"subscribe (iCalendar)":                                "s'abonner (iCalendar)",
	"All services are working as usual.":                   "Tous les services fonctionnent normalement.",
	"Current and planned outages":                          "Pannes en cours et prévues",
	"Recent outages":                                       "Pannes récentes",
	"Outage":                                               "Panne",
	"State":                                                "État",
	"Boards on this server":                                "Tableaux de ce serveur",
	"No boards yet.":                                       "Aucun tableau pour l'instant.",
	"All announcements":                                    "Toutes les annonces",
	"Deleted":                                              "Supprimée",
	"This announcement was deleted.":                       "Cette annonce a été supprimée.",
	"You are signed up as %s. Thank you!":                  "Vous êtes inscrit·e comme %s. Merci !",
	"You are on the waiting list for %s.":                  "Vous êtes sur la liste d'attente pour %s.",
	"Sorry, %s filled up just before you answered.":        "Désolé, %s s'est rempli juste avant votre réponse.",
	"You had already signed up; nothing changed.":          "Vous étiez déjà inscrit·e ; rien n'a changé.",
	"Choose a role.":                                       "Choisissez un rôle.",
	"Your name is required.":                               "Votre nom est obligatoire.",
	"Check your name and contact: no control or invisible characters, and not too long.": "Vérifiez votre nom et votre contact : pas de caractères invisibles ni de contrôle, et pas trop longs.",
	"This form has expired; please fill it in again.":                                    "Ce formulaire a expiré ; merci de le remplir à nouveau.",
	"Sorry, this call has just closed.":                                                  "Désolé, cet appel vient de fermer.",
	"That role is not in this call any more; choose another.":                            "Ce rôle ne fait plus partie de l'appel ; choisissez-en un autre.",
	"Choose one role only.":                                                              "Choisissez un seul rôle.",
	"and":                                                                                "et",
	"Not found":                                                                          "Page introuvable",
	"There is nothing at this address. It may have moved, or the link may be mistyped.": "Il n'y a rien à cette adresse. La page a peut-être été déplacée, ou le lien est mal écrit.",
	"Home":                 "Accueil",
	"Something went wrong": "Un problème est survenu",
	"Something went wrong on our side; please try again later.": "Un problème est survenu chez nous ; merci de réessayer plus tard.",
	"Map (OpenStreetMap)": "Carte (OpenStreetMap)",
	"This form is too large; shorten your name or contact.": "Ce formulaire est trop long ; raccourcissez votre nom ou votre contact.",
}

// joinAnd joins names with commas and the locale's "and".
func (l Locale) joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + l.T("and") + " " + names[len(names)-1]
}

// symbols are the currencies shown with a sign rather than their code.
var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "CAD": "$ CA"}

// amount formats money the way the reader's language writes it: 1,240 €
// or 1 240 € (cents only when there are some).
func (l Locale) amount(v float64, currency string) string {
	p := l.p
	if p == nil {
		p = English.p
	}
	n := p.Sprintf("%.0f", v)
	if v != float64(int64(v)) {
		n = p.Sprintf("%.2f", v)
	}
	sym, ok := symbols[currency]
	if !ok {
		sym = currency
	}
	if l.Tag == language.English && (currency == "USD" || currency == "GBP") {
		return sym + n
	}
	return n + "\u00a0" + sym
}

// localeOf is the locale of a language tag (a board's), English by default.
func localeOf(lang string) Locale {
	if lang == "fr" {
		return Locale{Tag: language.French, p: message.NewPrinter(language.French, message.Catalog(pageCatalog))}
	}
	return English
}
