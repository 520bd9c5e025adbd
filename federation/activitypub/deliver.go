package activitypub

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"crieur/board"
	"crieur/federation/delivery"
)

// The job kinds of one signed POST to one inbox. KindDeliverInOrder is an
// announcement's activity after its Create (an edit, a count refresh, a
// pin, a deletion): it must reach each inbox after the earlier ones, an
// order only a process with the store can keep (Deliverer.Order), so only
// serve's workers take it. A Create waits for nothing and anyone may
// deliver it, `crieur deliver` workers included: whatever follows it waits
// for it.
const (
	KindDeliver        = "ap.deliver"
	KindDeliverInOrder = "ap.deliver.ordered"
)

// deliverPayload is all a worker needs: which board signs, where to POST,
// and the exact bytes. The private key is looked up by board, never queued.
type deliverPayload struct {
	Board    string          `json:"board"`
	KeyID    string          `json:"key_id"`
	Inbox    string          `json:"inbox"`
	Activity json.RawMessage `json:"activity"`
}

func (s *Server) deliveryJob(id string, outboxID int64, boardName, inbox string, activity any) (delivery.Job, error) {
	return DeliveryJob(id, outboxID, boardName, s.urls.KeyID(boardName), inbox, activity)
}

// encodedJob is DeliveryJob with the activity already encoded by
// json.Marshal (once for a whole fan-out).
func encodedJob(id string, outboxID int64, boardName, keyID, inbox string, body []byte) (delivery.Job, error) {
	payload, err := encodePayload(deliverPayload{Board: boardName, KeyID: keyID, Inbox: inbox, Activity: body})
	if err != nil {
		return delivery.Job{}, err
	}
	return delivery.Job{ID: id, Kind: KindDeliver, OutboxID: outboxID, Target: inbox, Payload: payload}, nil
}

// DeliveryJob builds a KindDeliver job: POST activity to inbox, signed by
// board's key keyID.
func DeliveryJob(id string, outboxID int64, boardName, keyID, inbox string, activity any) (delivery.Job, error) {
	body, err := json.Marshal(activity)
	if err != nil {
		return delivery.Job{}, err
	}
	return encodedJob(id, outboxID, boardName, keyID, inbox, body)
}

// SignForBenchmark signs a typical delivery request, so benchmarks can
// measure the signing bound with the code deliveries use.
func SignForBenchmark(key *rsa.PrivateKey, inbox string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentTypeAP)
	return signRequest(req, key, "https://bench.example/boards/news#main-key", body)
}

// Expand implements delivery.Expander: one job per distinct inbox of the
// board's followers, shared inboxes first so a server gets one POST.
func (s *Server) Expand(ctx context.Context, e board.OutboxEntry) ([]delivery.Job, error) {
	b, err := s.store.BoardByID(ctx, e.BoardID)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Announcement(ctx, b.ID, e.AnnouncementID)
	if err != nil {
		return nil, err
	}
	// A Create or Update overtaken by a delete has nothing left to show.
	if a.DeletedAt != nil && e.Verb != board.VerbDelete {
		return nil, nil
	}
	version := e.Version
	if e.Verb == board.VerbRefresh {
		version = int(e.ID)
	}
	act, err := s.activity(b, a, e.Verb, version, e.CreatedAt)
	if err != nil {
		return nil, err
	}
	var relayed []string
	// Relays that accepted the board get its public Create, Update and
	// Delete too (what Mastodon sends its relays, and what Activity-Relay
	// passes on), one more inbox of the fan-out.
	if relayable(act) {
		if relayed, err = s.relayInboxes(ctx, b); err != nil {
			return nil, err
		}
	}
	inboxes, err := s.fanOut(ctx, b, relayed)
	if err != nil {
		return nil, err
	}
	// Encoded once for all the inboxes (a thousand followers' servers get
	// the same bytes).
	body, err := json.Marshal(act)
	if err != nil {
		return nil, err
	}
	var jobs []delivery.Job
	for _, inbox := range inboxes {
		job, err := encodedJob(fmt.Sprintf("ap:%d:%s", e.ID, inbox), e.ID, b.Name, s.urls.KeyID(b.Name), inbox, body)
		if err != nil {
			return nil, err
		}
		if e.Verb != board.VerbCreate {
			job.Kind = KindDeliverInOrder
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// fanOut lists the inboxes an activity of b's goes to: its followers'
// (deliveryOrder), then extra ones (relays) not among them (a LitePub
// relay following back gets it once), without any a block covers: a
// block removes its follows, and this catches an inbox on a blocked
// domain that an unblocked account named.
func (s *Server) fanOut(ctx context.Context, b board.Board, extra []string) ([]string, error) {
	followers, err := s.store.Followers(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	blocks, err := s.store.Blocks(ctx, &b.ID)
	if err != nil {
		return nil, err
	}
	inboxes := deliveryOrder(followers)
	for _, inbox := range extra {
		if !slices.Contains(inboxes, inbox) {
			inboxes = append(inboxes, inbox)
		}
	}
	return slices.DeleteFunc(inboxes, func(inbox string) bool {
		return slices.ContainsFunc(blocks, func(k board.Block) bool { return k.Covers(inbox) })
	}), nil
}

// deliveryOrder lists the distinct inboxes to deliver to: shared inboxes
// first (one POST reaches a whole server), then personal inboxes taking
// their hosts in turn, so that no host gets a burst of jobs that its
// concurrency limit would only push back.
func deliveryOrder(followers []board.Follower) []string {
	seen := map[string]bool{}
	var shared []string
	byHost := map[string][]string{}
	var hosts []string
	for _, f := range followers {
		inbox := f.DeliveryInbox()
		if seen[inbox] {
			continue
		}
		seen[inbox] = true
		if f.SharedInbox != "" {
			shared = append(shared, inbox)
			continue
		}
		h := delivery.HostOf(inbox)
		if byHost[h] == nil {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], inbox)
	}
	out := shared
	for len(hosts) > 0 {
		left := hosts[:0]
		for _, h := range hosts {
			q := byHost[h]
			out = append(out, q[0])
			if len(q) > 1 {
				byHost[h] = q[1:]
				left = append(left, h)
			}
		}
		hosts = left
	}
	return out
}

// KeySource hands a board's private key to the signer.
type KeySource interface {
	PrivateKey(ctx context.Context, board string) (*rsa.PrivateKey, error)
}

// Deliverer signs and POSTs KindDeliver jobs. It needs only the boards'
// keys, so it can run in a process that owns no store.
type Deliverer struct {
	Client    *http.Client
	Keys      KeySource
	UserAgent string
	// Order keeps one announcement's activities to one inbox in the order
	// they were made, even after the inbox was down; nil in a deliver-only
	// worker, which has no store to ask.
	Order DeliveryOrder
	// CPU runs the signatures at a lower priority than the process's
	// pages while a person reads them (crieur serve); nil, or nobody
	// reading, signs on the caller's goroutine.
	CPU *delivery.BackgroundCPU

	// rfc9421 remembers the hosts that refused a draft-cavage signature
	// and accepted an RFC 9421 one: they get RFC 9421 first from then on.
	// Every other host gets draft-cavage, which every server reads.
	rfc9421 sync.Map // host -> true
}

// DeliveryOrder says whether an announcement's activity must wait for an
// earlier one to the same inbox, or was superseded by a later one that
// arrived (board/store's DeliveryOrder).
type DeliveryOrder interface {
	DeliveryOrder(ctx context.Context, outboxID int64, target string) (wait, superseded bool, err error)
}

// orderWait is how long an activity waits for an earlier one before it
// looks again (not counted as a failed try).
const orderWait = 5 * time.Second

// Handle implements delivery.Handler.
func (d *Deliverer) Handle(ctx context.Context, job delivery.Job) error {
	p, err := decodePayload(job.Payload)
	if err != nil {
		return delivery.Permanent(fmt.Errorf("bad delivery payload: %w", err))
	}
	if d.Order != nil && job.OutboxID != 0 {
		// GoToSocial and Fedify took an Update before its Create, and an
		// unpin before its pin (then pinned for good), when a follower's
		// server came back from an outage and retries went in any order.
		wait, superseded, err := d.Order.DeliveryOrder(ctx, job.OutboxID, job.Target)
		switch {
		case err != nil:
			return err
		case superseded:
			return nil // a later activity about it already brought the whole state
		case wait:
			return &delivery.WaitError{Reason: "an earlier activity about the same post is still on its way to " + job.Target, After: orderWait}
		}
	}
	key, err := d.Keys.PrivateKey(ctx, p.Board)
	switch {
	case errors.Is(err, board.ErrNotFound) || errors.Is(err, errBadBoardName):
		return delivery.Permanent(err) // the board is gone: nothing to sign with, ever
	case err != nil:
		// A key file missing, unreadable or too open is the operator's to
		// fix: the deliveries wait for it rather than die.
		return delivery.Local(err)
	}
	host := delivery.HostOf(p.Inbox)
	_, modern := d.rfc9421.Load(host)
	resp, err := d.post(ctx, p, key, modern)
	if err != nil {
		return err
	}
	// A 401 asking for RFC 9421 (Accept-Signature) gets one more knock
	// signed that way; what works is remembered for the host.
	if resp.StatusCode == http.StatusUnauthorized && !modern && resp.Header.Get("Accept-Signature") != "" {
		resp.Body.Close()
		if resp, err = d.post(ctx, p, key, true); err != nil {
			return err
		}
		if resp.StatusCode < 300 {
			d.rfc9421.Store(host, true)
		}
	} else if resp.StatusCode == http.StatusUnauthorized && modern {
		d.rfc9421.Delete(host) // it changed its mind: back to draft-cavage
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return classifyStatus(resp)
}

// post sends one signed POST of p's activity: RFC 9421 when modern, else
// draft-cavage.
func (d *Deliverer) post(ctx context.Context, p deliverPayload, key *rsa.PrivateKey, modern bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Inbox, bytes.NewReader(p.Activity))
	if err != nil {
		return nil, delivery.Permanent(fmt.Errorf("bad inbox %q: %w", p.Inbox, err))
	}
	req.Header.Set("Content-Type", contentTypeAP)
	req.Header.Set("Accept", contentTypeAP)
	req.Header.Set("User-Agent", d.UserAgent)
	// An inbox POST is idempotent (servers keep one copy per activity id),
	// so net/http may send it again on a new connection when a reused one
	// was dropped under it, as servers do at their keep-alive timeout,
	// instead of costing a retry round in the queue. A nil value marks
	// the request without sending the header (net/http's Transport docs).
	req.Header["X-Idempotency-Key"] = nil
	d.CPU.Run(func() {
		if modern {
			err = sign9421(req, key, p.KeyID, p.Activity, time.Now())
		} else {
			err = signRequest(req, key, p.KeyID, p.Activity)
		}
	})
	if err != nil {
		return nil, delivery.Permanent(err)
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return nil, classifyNetError(err)
	}
	return resp, nil
}

// classifyNetError retries what may heal (timeouts, refused connections)
// and gives up on what will not (our SSRF guard, a domain that does not exist).
func classifyNetError(err error) error {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return delivery.Permanent(err)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return delivery.Permanent(err)
	}
	return err
}

// classifyStatus reads an inbox's answer. Its body is not quoted: whatever
// a remote server says must not reach the API's readers (an SSRF oracle).
func classifyStatus(resp *http.Response) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("inbox answered %d %s", code, http.StatusText(code))
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if after := delivery.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); after > 0 {
			return &delivery.RetryAfterError{Err: err, After: after}
		}
		return err
	case code == http.StatusRequestTimeout || code >= 500:
		return err
	default:
		// Other 4xx (401, 403, 404, 410...) will not change by retrying.
		return delivery.Permanent(err)
	}
}
