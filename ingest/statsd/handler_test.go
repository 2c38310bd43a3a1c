package statsd

import (
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

// TestLinesKeepOrder checks that simple lines, which the handler gathers
// for AddSimple, and the other lines still apply in the order sent, and
// that rejects of both come back with their line numbers in order.
func TestLinesKeepOrder(t *testing.T) {
	a, err := ingest.NewAggregator(ingest.Options{MaxLineLen: 40}, discardSink{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for range 3 { // more lines than one AddSimple batch
		// Sets alternate with deltas that carry a field, so they are not
		// simple: any reordering changes the gauge.
		body.WriteString("g:5|g\ng:+2|g|c:x\ng:10|g\ng:-1|g|c:x\n")
		for range 12 {
			body.WriteString("c:1|c\n")
		}
	}
	body.WriteString("c:1|g\n")                                        // 49: a counter's name as a gauge
	body.WriteString("broken\n")                                       // 50: no value
	body.WriteString("x:2|ms\n")                                       // 51
	body.WriteString("long.name.beyond.the.line.limit.of.forty:1|c\n") // 52
	body.WriteString("c:1|c")                                          // 53, without a newline
	res := HandleBody(a, []byte(body.String()))
	if res.Accepted != 50 || res.Rejected != 3 {
		t.Fatalf("accepted %d, rejected %d: %+v", res.Accepted, res.Rejected, res.Errors)
	}
	want := []LineError{
		{Line: 49, Reason: "type_conflict", Text: "c:1|g"},
		{Line: 50, Reason: "missing_value", Text: "broken"},
		{Line: 52, Reason: "line_too_long", Text: "long.name.beyond.the.line.limit.of.forty:1|c"},
	}
	for i, e := range res.Errors {
		if i >= len(want) || e != want[i] {
			t.Fatalf("errors %+v, want %+v", res.Errors, want)
		}
	}
	if v, _ := a.Get("g"); v != 9 {
		t.Errorf("gauge g = %v, want 9", v)
	}
	if v, _ := a.Get("c"); v != 37 {
		t.Errorf("counter c = %v, want 37", v)
	}
	var gotRejects []string
	for _, r := range a.Rejects() {
		gotRejects = append(gotRejects, r.Reason)
	}
	if strings.Join(gotRejects, ",") != "type_conflict,missing_value,line_too_long" {
		t.Errorf("rejects listed %v", gotRejects)
	}
}
