package notify

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// groupAllLabels in group_by groups alerts by their full label set.
const groupAllLabels = "..."

// receiver is one configured destination: its matchers, its queue and, for
// webhooks, the alert groups and their notification log.
type receiver struct {
	n        *Notifier
	cfg      ReceiverConfig
	url      string
	matchers []*labels.Matcher
	groupAll bool
	queue    chan *job
	m        *receiverMetrics

	mu     sync.Mutex
	groups map[string]*group
}

// group is the set of alerts a webhook notification is about.
type group struct {
	key      string
	labels   labels.Labels
	alerts   map[model.Fingerprint]Alert
	entry    *logEntry
	inflight bool
}

// job is one notification waiting in a receiver's queue.
type job struct {
	// Webhook jobs.
	group    *group
	msg      *WebhookMessage
	firing   []model.Fingerprint
	resolved []model.Fingerprint
	at       time.Time
	// Alertmanager jobs.
	alerts []Alert
}

func newReceiver(n *Notifier, cfg ReceiverConfig) (*receiver, error) {
	ms, err := parseMatchers(cfg.Matchers)
	if err != nil {
		return nil, err
	}
	u := cfg.URL
	if cfg.Type == TypeAlertmanager && !strings.HasSuffix(u, "/api/v2/alerts") {
		u = strings.TrimRight(u, "/") + "/api/v2/alerts"
	}
	return &receiver{
		n:        n,
		cfg:      cfg,
		url:      u,
		matchers: ms,
		groupAll: slices.Contains(cfg.GroupBy, groupAllLabels),
		queue:    make(chan *job, cfg.QueueSize),
		m:        newReceiverMetrics(n.opts.Metrics, cfg.Name),
		groups:   map[string]*group{},
	}, nil
}

func (r *receiver) matches(ls labels.Labels) bool {
	for _, m := range r.matchers {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// enqueue never blocks: a full queue drops the job and counts it, because a
// receiver that cannot keep up must not hold back evaluation.
func (r *receiver) enqueue(j *job) bool {
	select {
	case r.queue <- j:
		r.m.queueLength.Set(float64(len(r.queue)))
		return true
	default:
		r.m.dropped.Inc()
		return false
	}
}

// notify files the alerts this receiver matches.
func (r *receiver) notify(alerts []Alert, now time.Time) {
	if r.cfg.Type == TypeAlertmanager {
		var batch []Alert
		for _, a := range alerts {
			if r.matches(a.Labels) {
				batch = append(batch, a)
			}
		}
		if len(batch) > 0 {
			r.enqueue(&job{alerts: batch})
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	touched := map[*group]struct{}{}
	for _, a := range alerts {
		if !r.matches(a.Labels) {
			continue
		}
		g := r.groupFor(a.Labels)
		g.alerts[a.Fingerprint()] = a
		touched[g] = struct{}{}
	}
	for g := range touched {
		r.flushLocked(g, now)
	}
}

func (r *receiver) groupFor(ls labels.Labels) *group {
	var gl labels.Labels
	if r.groupAll {
		gl = ls
	} else {
		b := labels.NewScratchBuilder(len(r.cfg.GroupBy))
		for _, name := range r.cfg.GroupBy {
			if v := ls.Get(name); v != "" {
				b.Add(name, v)
			}
		}
		b.Sort()
		gl = b.Labels()
	}
	// Alertmanager's group key: the route's matchers (the root route here),
	// then the group labels.
	key := "{}:" + gl.String()
	g, ok := r.groups[key]
	if !ok {
		g = &group{key: key, labels: gl, alerts: map[model.Fingerprint]Alert{}}
		r.groups[key] = g
	} else if g.labels.IsEmpty() {
		g.labels = gl
	}
	return g
}

// flushAll re-examines every group: repeat intervals and alerts that expired
// without being sent again are noticed here even if no rule speaks.
func (r *receiver) flushAll(now time.Time) {
	if r.cfg.Type == TypeAlertmanager {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		r.flushLocked(g, now)
	}
}

// flushLocked decides whether group g needs a notification and queues it.
func (r *receiver) flushLocked(g *group, now time.Time) {
	if g.inflight {
		return
	}
	if len(g.alerts) == 0 {
		// A log restored at start-up, before the rules have spoken: nothing
		// is known about its alerts yet, so there is nothing to decide.
		r.collectLocked(g, now)
		return
	}
	r.dropUnneededLocked(g, now)
	var firing, resolved []model.Fingerprint
	for fp, a := range g.alerts {
		if a.Resolved(now) {
			resolved = append(resolved, fp)
		} else {
			firing = append(firing, fp)
		}
	}
	slices.Sort(firing)
	slices.Sort(resolved)
	sendResolved := *r.cfg.SendResolved
	if !needsUpdate(g.entry, firing, resolved, sendResolved, time.Duration(r.cfg.RepeatInterval), now) {
		r.collectLocked(g, now)
		return
	}
	var alerts []Alert
	for _, a := range g.alerts {
		if sendResolved || !a.Resolved(now) {
			alerts = append(alerts, a)
		}
	}
	if len(alerts) == 0 {
		// Only resolutions, and this receiver does not want them: record them
		// so that they are not considered again.
		r.commitLocked(g, firing, resolved, now)
		return
	}
	msg := buildWebhookMessage(r.cfg.Name, r.n.opts.ExternalURL, g.key, g.labels, alerts, now, r.cfg.MaxAlerts)
	g.inflight = true
	if !r.enqueue(&job{group: g, msg: msg, firing: firing, resolved: resolved, at: now}) {
		g.inflight = false
	}
}

// commitLocked records a delivered notification in the log and persists it.
func (r *receiver) commitLocked(g *group, firing, resolved []model.Fingerprint, at time.Time) {
	g.entry = &logEntry{Firing: firing, Resolved: resolved, At: at}
	r.persistLocked(g)
	r.collectLocked(g, at)
}

// collectLocked forgets what needs no further notification: resolved alerts
// the receiver never heard of as firing or already heard of as resolved, and
// groups left empty.
func (r *receiver) collectLocked(g *group, now time.Time) {
	r.dropUnneededLocked(g, now)
	if len(g.alerts) > 0 || g.inflight {
		return
	}
	stale := g.entry != nil && g.entry.At.Before(now.Add(-2*time.Duration(r.cfg.RepeatInterval)))
	if g.entry == nil || len(g.entry.Firing) == 0 || stale {
		if g.entry != nil {
			g.entry = nil
			r.persistLocked(g)
		}
		delete(r.groups, g.key)
	}
}

// dropUnneededLocked forgets resolved alerts the receiver never heard of as
// firing or already heard of as resolved: rules keep re-sending resolutions
// for a while, receivers need them once.
func (r *receiver) dropUnneededLocked(g *group, now time.Time) {
	for fp, a := range g.alerts {
		if a.Resolved(now) && (g.entry == nil || !g.entry.hasFiring(fp) || g.entry.hasResolved(fp)) {
			delete(g.alerts, fp)
		}
	}
}

func (r *receiver) persistLocked(g *group) {
	st := r.n.opts.Store
	if st == nil {
		return
	}
	key := logKey(r.cfg.Name, g.key)
	var err error
	if g.entry == nil || len(g.entry.Firing) == 0 {
		// A log without firing alerts decides exactly what no log decides.
		err = st.Delete(key)
	} else {
		var val []byte
		if val, err = encodeEntry(g.entry); err == nil {
			err = st.Put(key, val)
		}
	}
	if err != nil {
		r.m.storeErrors.Inc()
		r.n.opts.Logger.Warn("notify: persist notification log", "receiver", r.cfg.Name, "group", g.key, "err", err)
	}
}

// finish is called by the worker when a webhook job is done.
func (r *receiver) finish(j *job, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := j.group
	g.inflight = false
	if ok {
		r.commitLocked(g, j.firing, j.resolved, j.at)
	}
	if _, live := r.groups[g.key]; live && ok {
		// Whatever changed while the notification was in flight goes now
		// rather than at the next evaluation. After a failure the next
		// evaluation or tick retries, so a dead receiver is not hammered.
		r.flushLocked(g, r.n.now())
	}
}
