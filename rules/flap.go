package rules

// Flap detection follows Nagios: the last 21 raw results of a check give 20
// possible state changes; changes are weighted linearly from 0.75 (oldest) to
// 1.25 (newest) so that recent behaviour counts more, and the weighted sum
// as a percentage of 20 is compared with a start and a stop threshold.
const (
	flapHistory     = 21
	flapLowWeight   = 0.75
	flapHighWeight  = 1.25
	defaultFlapHigh = 20.0
	defaultFlapLow  = 5.0
)

// flapPercent is the weighted percent state change of h (oldest first, at
// most flapHistory entries). A short history counts as if it had been
// preceded by its oldest state, as Nagios does when it starts.
func flapPercent(h []State) float64 {
	n := len(h)
	var changes float64
	for i := 1; i < n; i++ {
		if h[i] == h[i-1] {
			continue
		}
		// j is the transition's position among the 20 of a full history,
		// aligning the newest transition on the last slot.
		j := flapHistory - n + i - 1
		changes += float64(j)*(flapHighWeight-flapLowWeight)/float64(flapHistory-2) + flapLowWeight
	}
	return changes * 100 / float64(flapHistory-1)
}

// pushHistory appends s, keeping the last flapHistory entries.
func pushHistory(h []State, s State) []State {
	if len(h) == flapHistory {
		copy(h, h[1:])
		h[len(h)-1] = s
		return h
	}
	return append(h, s)
}
