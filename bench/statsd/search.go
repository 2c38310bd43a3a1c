package main

import (
	"context"
	"math"
)

// step is one load step: the generator offered a rate for a while and the
// server's accepted-lines counter was read before and after.
type step struct {
	Offered  float64 // lines per second asked of the generator
	Sent     int64   // lines the generator reports sent
	Seconds  float64 // how long the generator sent
	Accepted int64   // lines the server accepted by the grace time after the load ended
	Drained  int64   // lines the server accepted once its counter stopped moving
	// ServerCPU is the server's CPU time over the load, in seconds.
	ServerCPU float64
}

// cores is the server's CPU use over the load, in cores.
func (s step) cores() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return s.ServerCPU / s.Seconds
}

// sentRate is the rate the generator achieved.
func (s step) sentRate() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Seconds
}

// acceptedRate is the figure reported: lines accepted per second of load.
func (s step) acceptedRate() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Accepted) / s.Seconds
}

// loss is the share of sent lines not accepted by the grace time: lines
// dropped plus lines still queued because the server was behind.
func (s step) loss() float64 {
	if s.Sent <= 0 {
		return 1
	}
	return 1 - float64(s.Accepted)/float64(s.Sent)
}

// drainedLoss is the share of sent lines never accepted (dropped).
func (s step) drainedLoss() float64 {
	if s.Sent <= 0 {
		return 1
	}
	return 1 - float64(s.Drained)/float64(s.Sent)
}

// pass reports whether the server kept up: under maxLoss lost or late.
func (s step) pass(maxLoss float64) bool { return s.Sent > 0 && s.loss() < maxLoss }

// genLimited reports whether the generator fell short of the offered rate,
// so that a passing step measured the generator rather than the server.
func (s step) genLimited() bool { return s.sentRate() < genShortfall*s.Offered }

// genShortfall is the share of the offered rate below which the generator
// is considered the bottleneck.
const genShortfall = 0.97

// searchPlan bounds one search.
type searchPlan struct {
	Start     float64 // first offered rate, lines per second
	MaxSteps  int     // load steps at most
	Precision float64 // stop when the failing rate is within this factor of the passing one
	MaxLoss   float64 // a step passes under this loss
	MinRate   float64 // give up going down below this rate
}

// outcome is what a search found.
type outcome struct {
	Steps      []step
	Best       int  // index in Steps of the passing step with the highest accepted rate, -1 if none
	FirstFail  int  // index of the failing step with the lowest offered rate, -1 if none
	GenLimited bool // the best step was limited by the generator: the server may take more
}

// best returns the best passing step, if any.
func (o outcome) best() (step, bool) {
	if o.Best < 0 {
		return step{}, false
	}
	return o.Steps[o.Best], true
}

// measureFunc runs one load step at an offered rate.
type measureFunc func(ctx context.Context, rate float64) (step, error)

// search finds the highest offered rate the server takes with under
// p.MaxLoss loss: it doubles the rate from p.Start until a step fails (or
// halves it until one passes), then bisects geometrically between the last
// passing and the first failing rate until they are within p.Precision or
// p.MaxSteps steps were run. A passing step on which the generator fell
// short of the offered rate ends the search: going higher would measure the
// generator.
func search(ctx context.Context, p searchPlan, measure measureFunc) (outcome, error) {
	o := outcome{Best: -1, FirstFail: -1}
	lo, hi := 0.0, 0.0 // highest passing and lowest failing offered rates so far
	rate := p.Start
	for len(o.Steps) < p.MaxSteps {
		s, err := measure(ctx, rate)
		if err != nil {
			return o, err
		}
		o.Steps = append(o.Steps, s)
		i := len(o.Steps) - 1
		if s.pass(p.MaxLoss) {
			if o.Best < 0 || s.acceptedRate() > o.Steps[o.Best].acceptedRate() {
				o.Best = i
				o.GenLimited = s.genLimited()
			}
			if s.genLimited() {
				break
			}
			lo = max(lo, rate)
		} else {
			if o.FirstFail < 0 || rate < o.Steps[o.FirstFail].Offered {
				o.FirstFail = i
			}
			if hi == 0 || rate < hi {
				hi = rate
			}
		}
		switch {
		case hi == 0:
			rate *= 2
		case lo == 0:
			rate /= 2
			if rate < p.MinRate {
				return o, nil
			}
		case hi/lo <= p.Precision:
			return o, nil
		default:
			rate = math.Sqrt(lo * hi)
		}
	}
	return o, nil
}
