package client

import (
	"sync"

	"github.com/wardmetrics/ward/experiment/spec"
)

// queue holds exposures and events waiting to be sent, each bounded by size.
type queue struct {
	size  int
	batch int // a queue this long asks for an immediate flush
	mu    sync.Mutex
	x     []spec.Exposure
	ev    []spec.Event
	st    queueStats
}

type queueStats struct {
	exposuresQueued, exposuresSent, exposuresDropped int64
	eventsQueued, eventsSent, eventsDropped          int64
}

func (q *queue) init(size, batch int) { q.size, q.batch = size, batch }

// addExposure queues x, or drops it when the queue is full. It reports whether the
// queue holds enough to flush now.
func (q *queue) addExposure(x spec.Exposure) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.x) >= q.size {
		q.st.exposuresDropped++
		return true
	}
	q.x = append(q.x, x)
	q.st.exposuresQueued++
	return len(q.x) >= q.batch
}

func (q *queue) addEvent(ev spec.Event) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ev) >= q.size {
		q.st.eventsDropped++
		return true
	}
	q.ev = append(q.ev, ev)
	q.st.eventsQueued++
	return len(q.ev) >= q.batch
}

// takeExposures removes up to n exposures from the front.
func (q *queue) takeExposures(n int) []spec.Exposure {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.x))
	out := append([]spec.Exposure(nil), q.x[:n]...)
	q.x = append(q.x[:0], q.x[n:]...)
	return out
}

func (q *queue) takeEvents(n int) []spec.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.ev))
	out := append([]spec.Event(nil), q.ev[:n]...)
	q.ev = append(q.ev[:0], q.ev[n:]...)
	return out
}

// requeueExposures puts a failed batch back at the front, as far as room allows; the
// rest is dropped.
func (q *queue) requeueExposures(xs []spec.Exposure) {
	q.mu.Lock()
	defer q.mu.Unlock()
	room := max(q.size-len(q.x), 0)
	keep := xs[:min(room, len(xs))]
	q.st.exposuresDropped += int64(len(xs) - len(keep))
	q.x = append(append(make([]spec.Exposure, 0, len(keep)+len(q.x)), keep...), q.x...)
}

func (q *queue) requeueEvents(evs []spec.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	room := max(q.size-len(q.ev), 0)
	keep := evs[:min(room, len(evs))]
	q.st.eventsDropped += int64(len(evs) - len(keep))
	q.ev = append(append(make([]spec.Event, 0, len(keep)+len(q.ev)), keep...), q.ev...)
}

func (q *queue) sent(exposures, events int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st.exposuresSent += int64(exposures)
	q.st.eventsSent += int64(events)
}

func (q *queue) pending() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.x), len(q.ev)
}

// dropAll empties the queue, counting what is dropped.
func (q *queue) dropAll() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	x, ev := len(q.x), len(q.ev)
	q.st.exposuresDropped += int64(x)
	q.st.eventsDropped += int64(ev)
	q.x, q.ev = nil, nil
	return x, ev
}

func (q *queue) stats() queueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st
}
