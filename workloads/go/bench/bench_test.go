// Package bench holds Go benchmarks of the workloads' patterns, so
// `go test -bench -benchmem` output can be imported and gated
// (memgate import --format gobench).
package bench

import (
	"os"
	"runtime/metrics"
	"strconv"
	"testing"
)

var sink any

// scale multiplies the request body, like the workloads' -scale flag:
// MEMGATE_BENCH_SCALE=1.10 is a known 10% regression.
func scale(n int) int {
	f, err := strconv.ParseFloat(os.Getenv("MEMGATE_BENCH_SCALE"), 64)
	if err != nil {
		return n
	}
	return int(float64(n) * f)
}

// BenchmarkRequest allocates one request-like object per op.
func BenchmarkRequest(b *testing.B) {
	b.ReportAllocs()
	size := scale(512)
	for i := 0; i < b.N; i++ {
		r := struct {
			id   int
			body []byte
		}{i, make([]byte, size)}
		sink = &r
	}
}

// BenchmarkMapFill fills a map of 1000 entries per op and reports the
// live heap after the last op as a custom metric.
func BenchmarkMapFill(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m := make(map[string]int)
		for j := 0; j < 1000; j++ {
			m[strconv.Itoa(j)] = j
		}
		sink = m
	}
	s := []metrics.Sample{{Name: "/gc/heap/objects:objects"}}
	metrics.Read(s)
	b.ReportMetric(float64(s[0].Value.Uint64()), "heap-objects")
}
