package statsd

import (
	"bytes"
	"fmt"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

// handler applies lines of one protocol to the aggregator and counts them.
// One handler per goroutine: it keeps a reusable Line.
type handler struct {
	agg     *ingest.Aggregator
	opt     ParseOptions
	kh      ingest.KeyHasher
	maxLine int
	proto   string
	pc      *ingest.ProtocolCounters
	ignored *[numFields]*metrics.Counter
	events  *metrics.Counter
	checks  *metrics.Counter
	line    Line

	// simple lines waiting for AddSimple, with their line numbers and
	// lengths (for rejects); flushed before any other line is applied,
	// so that lines still apply in order.
	simple    [simpleBatch]ingest.Simple
	simpleNum [simpleBatch]int32
	simpleLen [simpleBatch]int32
	ns        int
	// holdSimple keeps simple lines gathered at the end of a chunk for
	// the next one: set while a read's datagrams are applied, whose
	// buffers stay put until the read is done (see batch).
	holdSimple bool

	// counts since the last publish
	received, accepted, packets int
	ign                         [numFields]int
	nEvents, nChecks            int
}

// simpleBatch is how many simple lines a handler hands to AddSimple at
// once: a 20-line packet in one call.
const simpleBatch = 32

// lineError is called for each rejected line with its 1-based number in
// the chunk handed to lines, when set (HandleBody uses it).
type lineError func(n int, line []byte, r ingest.Reason)

func newHandler(agg *ingest.Aggregator, proto string, opt ParseOptions) *handler {
	ms := agg.Metrics()
	ign := new([numFields]*metrics.Counter)
	for i, name := range fieldNames {
		ign[i] = ms.GetOrCreateCounter(fmt.Sprintf("ward_ingest_ignored_fields_total{field=%q}", name))
	}
	return &handler{
		agg:     agg,
		opt:     opt,
		kh:      agg.NameHasher(),
		maxLine: agg.Options().MaxLineLen,
		proto:   proto,
		pc:      agg.Protocol(proto),
		ignored: ign,
		events:  ms.GetOrCreateCounter(`ward_ingest_dogstatsd_events_total{type="event"}`),
		checks:  ms.GetOrCreateCounter(`ward_ingest_dogstatsd_events_total{type="service_check"}`),
		line:    Line{Metric: ingest.Metric{Values: make([]float64, 0, 16)}},
	}
}

// lines applies every newline-separated line of chunk. Empty lines (and a
// trailing '\r' of CRLF endings) are skipped without counting.
func (h *handler) lines(chunk []byte, onErr lineError) {
	num := 0
	for len(chunk) > 0 {
		num++
		if chunk[0] == '\n' {
			chunk = chunk[1:]
			continue
		}
		n, ln, r, simple := nextLine(chunk, &h.line, &h.simple[h.ns], h.opt, h.kh)
		if n < len(chunk) {
			chunk = chunk[n+1:]
		} else {
			chunk = nil
		}
		if simple && len(ln) <= h.maxLine {
			h.simpleNum[h.ns], h.simpleLen[h.ns] = int32(num), int32(len(ln))
			if h.ns++; h.ns == simpleBatch {
				h.flushSimple(onErr)
			}
			continue
		}
		if len(ln) == 0 {
			continue
		}
		if h.ns > 0 {
			h.flushSimple(onErr)
		}
		if r = h.apply(ln, r); r != ingest.OK && onErr != nil {
			onErr(num, ln, r)
		}
	}
	if h.ns > 0 && !h.holdSimple {
		h.flushSimple(onErr)
	}
}

// flushSimple applies the simple lines gathered so far.
func (h *handler) flushSimple(onErr lineError) {
	n := h.ns
	if n == 0 {
		return
	}
	h.ns = 0
	h.received += n
	h.accepted += n
	if h.agg.AddSimple(h.simple[:n]) == 0 {
		return
	}
	for i := range h.simple[:n] {
		sm := &h.simple[i]
		if sm.Reason == ingest.OK {
			continue
		}
		h.accepted--
		ln := sm.Name[:h.simpleLen[i]] // the line starts with the name
		h.reject(ln, sm.Reason)
		if onErr != nil {
			onErr(int(h.simpleNum[i]), ln, sm.Reason)
		}
	}
}

// apply hands a parsed line (r is the parser's verdict, h.line the
// result) to the aggregator and returns why it was rejected, if it was. A
// chained legacy line counts once: rejected if any part is.
func (h *handler) apply(ln []byte, r ingest.Reason) ingest.Reason {
	h.received++
	if len(ln) > h.maxLine {
		r = ingest.ReasonLineTooLong
	}
	l := &h.line
	for r == ingest.OK {
		if l.Ignored != ([numFields]uint8{}) {
			for i, c := range l.Ignored {
				h.ign[i] += int(c)
			}
		}
		switch l.Kind {
		case ingest.KindEvent:
			h.nEvents++
		case ingest.KindServiceCheck:
			h.nChecks++
		default:
			r = h.agg.Add(&l.Metric)
		}
		if r != ingest.OK || len(l.More) == 0 {
			break
		}
		r = ParseMore(l, h.opt)
	}
	if r != ingest.OK {
		h.reject(ln, r)
		return r
	}
	h.accepted++
	return ingest.OK
}

func (h *handler) reject(ln []byte, r ingest.Reason) {
	h.agg.RecordReject(h.proto, ln, r.String())
}

// publish adds the counts gathered since the last call to the metrics, so
// that the per-line path touches no shared counter.
func (h *handler) publish() {
	if h.received > 0 {
		h.pc.LinesReceived.Add(h.received)
	}
	if h.accepted > 0 {
		h.pc.LinesAccepted.Add(h.accepted)
	}
	if h.packets > 0 {
		h.pc.Packets.Add(h.packets)
	}
	for i, c := range h.ign {
		if c > 0 {
			h.ignored[i].Add(c)
		}
	}
	if h.nEvents > 0 {
		h.events.Add(h.nEvents)
	}
	if h.nChecks > 0 {
		h.checks.Add(h.nChecks)
	}
	h.received, h.accepted, h.packets, h.nEvents, h.nChecks = 0, 0, 0, 0, 0
	h.ign = [numFields]int{}
}

// BodyResult is the answer to POST /api/v1/statsd.
type BodyResult struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []LineError `json:"errors"`
}

// LineError is one rejected line of a body.
type LineError struct {
	// Line is the 1-based line number in the body.
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	// Text is the line (up to 200 bytes).
	Text string `json:"text"`
}

// maxBodyErrors is how many errors a BodyResult lists; all are counted.
const maxBodyErrors = 10

// HandleBody applies the newline-separated statsd lines of an HTTP request
// body (protocol "http"), with Etsy's gauge meaning, and reports how many
// were accepted and the first errors. Empty lines are skipped; rejected
// lines are also counted and listed in Aggregator.Rejects.
func HandleBody(agg *ingest.Aggregator, body []byte) BodyResult {
	return HandleBodyWith(agg, body, ParseOptions{})
}

// HandleBodyWith is HandleBody with parse options (DogStatsD gauges).
func HandleBodyWith(agg *ingest.Aggregator, body []byte, opt ParseOptions) BodyResult {
	h := newHandler(agg, "http", opt)
	res := BodyResult{Errors: []LineError{}}
	h.lines(body, func(n int, ln []byte, r ingest.Reason) {
		res.Rejected++
		if len(res.Errors) < maxBodyErrors {
			if len(ln) > 200 {
				ln = ln[:200]
			}
			res.Errors = append(res.Errors, LineError{Line: n, Reason: r.String(), Text: string(bytes.ToValidUTF8(ln, []byte("\uFFFD")))})
		}
	})
	res.Accepted = h.accepted
	h.packets = 1
	h.publish()
	return res
}
