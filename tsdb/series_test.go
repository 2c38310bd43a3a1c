package tsdb

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestLabelsEncodingRoundTrip(t *testing.T) {
	var sb labels.ScratchBuilder
	for _, ls := range []labels.Labels{
		labels.EmptyLabels(),
		labels.FromStrings("__name__", "x"),
		labels.FromStrings("__name__", "x", "a", "", "long", strings.Repeat("v", 300), "utf8", "é\x00\xff"),
	} {
		got, err := DecodeLabels(&sb, EncodeLabels(nil, ls))
		if err != nil || !labels.Equal(got, ls) {
			t.Errorf("round trip of %v: got %v %v", ls, got, err)
		}
	}
	for _, k := range [][]byte{{1, 2, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'}} {
		if _, err := DecodeLabels(&sb, k); err == nil {
			t.Errorf("truncated key %q: want an error", k)
		}
	}
}
