package ingest

import (
	"bytes"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// SanitizeName turns a statsd name into a valid Prometheus metric name: every
// byte other than ASCII letters, digits and '_' becomes '_' (so "shop.revenue"
// is stored as "shop_revenue"), and a leading digit gets a '_' prefix.
// Distinct statsd names can therefore land on one series ("a.b" and "a-b"),
// which is what users of Graphite-style names expect.
func SanitizeName(raw []byte) string {
	return sanitize(raw, false)
}

// sanitizeLabelName does the same for tag keys.
func sanitizeLabelName(raw []byte) string {
	return sanitize(raw, true)
}

func sanitize(raw []byte, label bool) string {
	var sb strings.Builder
	sb.Grow(len(raw) + 1)
	for i, c := range raw {
		if i == 0 && c >= '0' && c <= '9' {
			sb.WriteByte('_')
		}
		if validNameByte(c) {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('_')
		}
	}
	s := sb.String()
	if label && strings.HasPrefix(s, "__") {
		// Names starting with __ are reserved for Prometheus' own labels
		// (__name__ above all); a tag must not be able to set them.
		s = "exported_" + s
	}
	return s
}

func validNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// tagValueTrue is the label value of a tag sent without a value
// ("|#canary" becomes canary="true"), because Prometheus treats an empty
// label value as the label's absence.
const tagValueTrue = "true"

// seriesLabels builds the labels of a series: __name__ plus one label per tag.
// It enforces the tag limits. Tag rules (documented in the README):
//   - "k:v" becomes k="v"; the key is sanitised like a metric name, the value
//     is kept as sent (made valid UTF-8);
//   - "k" becomes k="true"; "k:" (an empty value) is dropped, since an empty
//     label value means no label in Prometheus;
//   - the last of several tags with one key wins;
//   - keys starting with "__", and "le" on histograms, get an "exported_"
//     prefix so they cannot collide with labels Ward sets.
func seriesLabels(name string, kind Kind, tags []byte, o *Options) (labels.Labels, Reason) {
	if len(tags) == 0 {
		return labels.FromStrings(metricNameLabel, name), OK
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, 4)
	n := 0
	for len(tags) > 0 {
		var tag []byte
		tag, tags, _ = bytes.Cut(tags, []byte{','})
		if len(tag) == 0 {
			continue
		}
		n++
		if n > o.MaxTags {
			return labels.EmptyLabels(), ReasonTooManyTags
		}
		if len(tag) > o.MaxTagLen {
			return labels.EmptyLabels(), ReasonTagTooLong
		}
		k, v, hasValue := bytes.Cut(tag, []byte{':'})
		if len(k) == 0 {
			return labels.EmptyLabels(), ReasonBadTags
		}
		p := pair{k: sanitizeLabelName(k)}
		switch {
		case !hasValue:
			p.v = tagValueTrue
		case len(v) == 0:
			continue
		default:
			p.v = strings.ToValidUTF8(string(v), "\uFFFD")
		}
		if kind == KindHistogram && p.k == labels.BucketLabel {
			p.k = "exported_" + p.k
		}
		pairs = append(pairs, p)
	}
	// Stable sort keeps the sending order among equal keys, so the last
	// one sent is the one kept.
	slices.SortStableFunc(pairs, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	sb := labels.NewScratchBuilder(len(pairs) + 1)
	sb.Add(metricNameLabel, name)
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].k == p.k {
			continue
		}
		sb.Add(p.k, p.v)
	}
	sb.Sort()
	return sb.Labels(), OK
}

// metricNameLabel is the label holding the metric name.
const metricNameLabel = "__name__"
