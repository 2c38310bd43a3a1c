package api

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fasthttpSingletons are goroutines fasthttp starts once per process and
// never stops: the Date header clock and the stackless compression workers.
var fasthttpSingletons = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp/stackless.funcWorker"),
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// A stopped server's worker-pool janitor exits at its next wake-up,
		// at most MaxIdleWorkerDuration (1s) after Serve returns: poll.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := goleak.Find(fasthttpSingletons...)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
				code = 1
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	os.Exit(code)
}
