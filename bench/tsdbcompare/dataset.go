package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// dataset is the shape of one generated data set and where its values are
// stored. Values are generated once by the parent (tsdbtest, seeded) and
// written to a file, step-major, as little-endian float64s; every engine's
// child process streams the same file, so that generating the data costs
// nothing inside the timed append loops and every engine stores exactly the
// same samples.
type dataset struct {
	Hosts    int           `json:"hosts"`
	Step     time.Duration `json:"step"`
	Duration time.Duration `json:"duration"`
	Seed     uint64        `json:"seed"`
	File     string        `json:"file"`
}

func (d dataset) config() tsdbtest.Config {
	cfg := tsdbtest.Default()
	cfg.Hosts, cfg.Step, cfg.Duration, cfg.Seed = d.Hosts, d.Step, d.Duration, d.Seed
	return cfg
}

func (d dataset) series() []tsdbtest.Series { return tsdbtest.New(d.config()).Series() }
func (d dataset) nseries() int              { return d.Hosts * tsdbtest.MetricsPerHost }
func (d dataset) steps() int                { return int(d.Duration / d.Step) }
func (d dataset) samples() int64            { return int64(d.steps()) * int64(d.nseries()) }
func (d dataset) start() int64              { return d.config().Start.UnixMilli() }
func (d dataset) stepMs() int64             { return d.Step.Milliseconds() }

// end is the timestamp of the last sample.
func (d dataset) end() int64 { return d.start() + int64(d.steps()-1)*d.stepMs() }

// checksum is what a full read of every series must find.
type checksum struct {
	Samples int64   `json:"samples"`
	Sum     float64 `json:"sum"`
}

func (c *checksum) add(v float64) {
	c.Samples++
	c.Sum += v
}

// matches compares a read against the generated data. The sum is compared
// with a relative tolerance because engines iterate series in different
// orders, which changes the float rounding of the sum.
func (c checksum) matches(want checksum) bool {
	if c.Samples != want.Samples {
		return false
	}
	d := math.Abs(c.Sum - want.Sum)
	return d <= 1e-9*math.Max(1, math.Abs(want.Sum))
}

// generate writes the values of d to d.File and returns their checksum.
func generate(d dataset) (checksum, error) {
	var sum checksum
	f, err := os.Create(d.File)
	if err != nil {
		return sum, fmt.Errorf("create data file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	g := tsdbtest.New(d.config())
	vals := make([]float64, len(g.Series()))
	buf := make([]byte, 8*len(vals))
	for {
		if _, ok := g.Next(vals); !ok {
			break
		}
		for i, v := range vals {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
			sum.add(v)
		}
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return sum, fmt.Errorf("write data file %s: %w", d.File, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return sum, fmt.Errorf("write data file %s: %w", d.File, err)
	}
	if err := f.Close(); err != nil {
		return sum, fmt.Errorf("close data file %s: %w", d.File, err)
	}
	return sum, nil
}

// stepReader streams the steps of a data file.
type stepReader struct {
	d    dataset
	f    *os.File
	r    *bufio.Reader
	buf  []byte
	vals []float64
	step int
}

func openSteps(d dataset) (*stepReader, error) {
	f, err := os.Open(d.File)
	if err != nil {
		return nil, fmt.Errorf("open data file: %w", err)
	}
	n := d.nseries()
	return &stepReader{d: d, f: f, r: bufio.NewReaderSize(f, 1<<20), buf: make([]byte, 8*n), vals: make([]float64, n)}, nil
}

// next returns the timestamp and values of the next step; the values are
// valid until the following call. ok is false at the end.
func (s *stepReader) next() (t int64, vals []float64, ok bool, err error) {
	if s.step >= s.d.steps() {
		return 0, nil, false, nil
	}
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		return 0, nil, false, fmt.Errorf("read step %d of %s: %w", s.step, s.d.File, err)
	}
	for i := range s.vals {
		s.vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(s.buf[8*i:]))
	}
	t = s.d.start() + int64(s.step)*s.d.stepMs()
	s.step++
	return t, s.vals, true, nil
}

func (s *stepReader) close() error { return s.f.Close() }
