package statsd

// rusageThread is RUSAGE_THREAD: the calling thread's usage.
const rusageThread = 1
