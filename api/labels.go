package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// checkEvery is how many series the series endpoint reads between looks at
// its deadline.
const checkEvery = 128

// labelRequest holds the parameters the label and series endpoints share.
type labelRequest struct {
	limit      int
	start, end time.Time
	matchers   [][]*labels.Matcher
}

// parseLabelRequest reads limit, start, end and match[]. Prometheus words a
// bad match[] differently for /series (asParam).
func (s *Server) parseLabelRequest(f form, asParam bool) (labelRequest, *apiError) {
	var (
		r   labelRequest
		err *apiError
	)
	if r.limit, err = f.limit(); err != nil {
		return r, err
	}
	if r.start, err = f.time("start", minTime); err != nil {
		return r, err
	}
	if r.end, err = f.time("end", maxTime); err != nil {
		return r, err
	}
	ms, perr := f.matchers(s.parser)
	if perr != nil {
		if asParam {
			return r, invalidParam("match[]", perr)
		}
		return r, &apiError{ErrBadData, perr}
	}
	r.matchers = ms
	return r, nil
}

// metadataContext bounds label and series lookups by the query timeout.
func (s *Server) metadataContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.baseCtx, s.opts.Timeout)
}

func (s *Server) handleLabelNames(ctx *fasthttp.RequestCtx) {
	r, apiErr := s.parseLabelRequest(formOf(ctx), false)
	if apiErr != nil {
		respondError(ctx, apiErr)
		return
	}
	s.answerLabels(ctx, r, func(c context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(c, hints, ms...)
	})
}

func (s *Server) handleLabelValues(ctx *fasthttp.RequestCtx) {
	name := PathParam(ctx, "name")
	if len(name) > 3 && name[:3] == "U__" {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		respondError(ctx, badData("invalid label name: %q", name))
		return
	}
	r, apiErr := s.parseLabelRequest(formOf(ctx), false)
	if apiErr != nil {
		respondError(ctx, apiErr)
		return
	}
	s.answerLabels(ctx, r, func(c context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(c, name, hints, ms...)
	})
}

type labelLookup func(context.Context, storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)

// answerLabels runs lookup once per match[] set (or once without matchers),
// unions, sorts and limits the results. The strings belong to the querier,
// so the response is encoded before it closes.
func (s *Server) answerLabels(ctx *fasthttp.RequestCtx, r labelRequest, lookup labelLookup) {
	c, cancel := s.metadataContext()
	defer cancel()
	q, err := s.opts.Queryable.Querier(timestamp.FromTime(r.start), timestamp.FromTime(r.end))
	if err != nil {
		respondError(ctx, queryError(fmt.Errorf("open querier: %w", err)))
		return
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(r.limit)}

	var (
		out      []string
		warnings annotations.Annotations
	)
	if len(r.matchers) <= 1 {
		var ms []*labels.Matcher
		if len(r.matchers) == 1 {
			ms = r.matchers[0]
		}
		if out, warnings, err = lookup(c, q, hints, ms); err != nil {
			respondError(ctx, &apiError{ErrExecution, err})
			return
		}
		if !slices.IsSorted(out) {
			out = slices.Clone(out)
			slices.Sort(out)
		}
	} else {
		set := map[string]struct{}{}
		for _, ms := range r.matchers {
			vals, ws, err := lookup(c, q, hints, ms)
			if err != nil {
				respondError(ctx, &apiError{ErrExecution, err})
				return
			}
			warnings.Merge(ws)
			for _, v := range vals {
				set[v] = struct{}{}
			}
		}
		out = make([]string, 0, len(set))
		for v := range set {
			out = append(out, v)
		}
		slices.Sort(out)
	}
	if r.limit > 0 && len(out) > r.limit {
		out = out[:r.limit]
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	b := beginSuccess((*bp)[:0])
	b = appendStringArray(b, out)
	b = finishSuccess(b, warnings, "")
	writeJSON(ctx, b)
	*bp = b
}

func (s *Server) handleSeries(ctx *fasthttp.RequestCtx) {
	f := formOf(ctx)
	if len(f.values("match[]")) == 0 {
		respondError(ctx, badData("no match[] parameter provided"))
		return
	}
	r, apiErr := s.parseLabelRequest(f, true)
	if apiErr != nil {
		respondError(ctx, apiErr)
		return
	}
	c, cancel := s.metadataContext()
	defer cancel()
	q, err := s.opts.Queryable.Querier(timestamp.FromTime(r.start), timestamp.FromTime(r.end))
	if err != nil {
		respondError(ctx, queryError(fmt.Errorf("open querier: %w", err)))
		return
	}
	defer q.Close()
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(r.start),
		End:   timestamp.FromTime(r.end),
		Func:  "series", // no samples needed
		Limit: hintLimit(r.limit),
	}
	var set storage.SeriesSet
	if len(r.matchers) > 1 {
		sets := make([]storage.SeriesSet, 0, len(r.matchers))
		for _, ms := range r.matchers {
			sets = append(sets, q.Select(c, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	} else {
		// Sorted, unlike Prometheus, for answers that do not vary between
		// runs; the storage sorts cheaply from its postings.
		set = q.Select(c, true, hints, r.matchers[0]...)
	}

	bp := s.getBuf()
	defer s.putBuf(bp)
	b := beginSuccess((*bp)[:0])
	b = append(b, '[')
	n := 0
	var warnings annotations.Annotations
	for set.Next() {
		if n%checkEvery == checkEvery-1 {
			if err := c.Err(); err != nil {
				respondError(ctx, queryError(err))
				return
			}
		}
		if r.limit > 0 && n == r.limit {
			warnings = warnings.Add(errors.New("results truncated due to limit"))
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendLabels(b, set.At().Labels())
		n++
	}
	if err := set.Err(); err != nil {
		respondError(ctx, queryError(err))
		return
	}
	warnings.Merge(set.Warnings())
	b = append(b, ']')
	b = finishSuccess(b, warnings, "")
	writeJSON(ctx, b)
	*bp = b
}
