package board

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// DeliverySummary is what the deliveries endpoint shows: counts overall,
// per kind of destination (fediverse, matrix, mattermost, email, discourse) and per
// host or named destination, with each one's last error.
type DeliverySummary struct {
	Counts map[string]int `json:"counts"`
	// Late counts the fediverse servers that received the post itself
	// after RealTimeWindow: they keep it, but their people do not find it
	// in their home timelines.
	Late          int                       `json:"late"`
	ByDestination map[string]map[string]int `json:"by_destination"`
	Hosts         []HostSummary             `json:"hosts"`
	Deliveries    []Delivery                `json:"deliveries"`
}

// HostSummary is one destination host's share of an announcement's deliveries.
type HostSummary struct {
	Host        string         `json:"host"`
	Counts      map[string]int `json:"counts"`
	LastError   string         `json:"last_error,omitempty"`
	LastErrorAt *time.Time     `json:"last_error_at,omitempty"`
}

// deliveryStatus is a row's state as counted. Rows recorded before the
// retrying state existed say pending with an error.
func deliveryStatus(d Delivery) string {
	if d.State == DeliveryPending && d.LastError != "" {
		return DeliveryRetrying
	}
	return d.State
}

func newCounts() map[string]int {
	return map[string]int{DeliveryPending: 0, DeliveryRetrying: 0, DeliveryDelivered: 0, DeliveryDead: 0}
}

// destination names the kind of a delivery's target and where it went: a
// fediverse inbox (a URL) by its host, a Matrix room (!id, #alias) by its
// server, a Mattermost channel, a mailing list or a forum (mattermost:NAME,
// email:NAME, discourse:HOST, as their packages write them) by name.
func destination(target string) (kind, where string) {
	if u, err := url.Parse(target); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") {
		return "fediverse", u.Host
	}
	if _, server, ok := strings.Cut(target, ":"); ok && (strings.HasPrefix(target, "!") || strings.HasPrefix(target, "#")) {
		return "matrix", server
	}
	for _, kind := range []string{"mattermost", "email", "discourse"} {
		if strings.HasPrefix(target, kind+":") {
			return kind, target
		}
	}
	return "other", target
}

// RealTimeWindow is how long after its publication a post delivered to
// Mastodon still goes into its followers' home timelines: a Create that
// arrives later is stored, but only shown on the board's profile
// (app/models/status.rb REAL_TIME_WINDOW, checked by
// app/lib/activitypub/activity/create.rb before distributing it).
const RealTimeWindow = 6 * time.Hour

// LateDelivery says whether d brought a's post to a fediverse server too
// late for its followers' home timelines.
func LateDelivery(a Announcement, d Delivery) bool {
	kind, _ := destination(d.Target)
	return kind == "fediverse" && d.Verb == VerbCreate && d.State == DeliveryDelivered && d.UpdatedAt.Sub(a.CreatedAt) > RealTimeWindow
}

// SummarizeDeliveries builds the summary of a's deliveries list.
func SummarizeDeliveries(a Announcement, list []Delivery) DeliverySummary {
	sum := DeliverySummary{Counts: newCounts(), ByDestination: map[string]map[string]int{}, Hosts: []HostSummary{}, Deliveries: list}
	if sum.Deliveries == nil {
		sum.Deliveries = []Delivery{}
	}
	hosts := map[string]*HostSummary{}
	var order []string
	for i, d := range list {
		st := deliveryStatus(d)
		sum.Deliveries[i].State = st
		if LateDelivery(a, sum.Deliveries[i]) {
			sum.Deliveries[i].Late = true
			sum.Late++
		}
		kind, host := destination(d.Target)
		sum.Counts[st]++
		if sum.ByDestination[kind] == nil {
			sum.ByDestination[kind] = newCounts()
		}
		sum.ByDestination[kind][st]++
		h := hosts[host]
		if h == nil {
			h = &HostSummary{Host: host, Counts: newCounts()}
			hosts[host] = h
			order = append(order, host)
		}
		h.Counts[st]++
		if d.LastError != "" && (h.LastErrorAt == nil || d.UpdatedAt.After(*h.LastErrorAt)) {
			at := d.UpdatedAt
			h.LastError, h.LastErrorAt = d.LastError, &at
		}
	}
	slices.Sort(order)
	for _, host := range order {
		sum.Hosts = append(sum.Hosts, *hosts[host])
	}
	return sum
}
