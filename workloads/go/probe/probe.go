// Package probe lets a Go program report its memory and GC behaviour to
// memgate. Add one line to main:
//
//	defer probe.Done()
//
// and record per-operation latencies with probe.Observe(d). When the
// environment variable MEMGATE_PROBE_FILE names a path, Done writes one
// JSON document there:
//
//	{"schema":"memgate/probe/v1","lang":"go","go_version":"go1.26.8",
//	 "metrics":{"heap.alloc.bytes":...},"latency":{"count":...,"p50":...}}
//
// with runtime/metrics values (every name read only where the running Go
// version has it). Without the variable, Observe and Done return at once:
// the probe allocates nothing and costs one predictable branch.
package probe

import (
	"encoding/json"
	"math"
	"math/bits"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"
)

// Schema is the version tag of the document Done writes.
const Schema = "memgate/probe/v1"

// EnvVar names the file the probe writes to.
const EnvVar = "MEMGATE_PROBE_FILE"

// ProfileEnvVar names the heap profile Done writes beside the report, when
// memgate asks for one (a footprint run); ProfileRateEnvVar is the
// runtime.MemProfileRate to record it with (bytes allocated per sample on
// average; 1 records every allocation).
const (
	ProfileEnvVar     = "MEMGATE_HEAP_PROFILE"
	ProfileRateEnvVar = "MEMGATE_MEMPROFILE_RATE"
)

var (
	path        = os.Getenv(EnvVar)
	enabled     = path != ""
	profilePath = os.Getenv(ProfileEnvVar)
	lat         *histogram
)

func init() {
	if enabled {
		lat = new(histogram)
	}
	// As early as the program lets a package: the rate applies to the
	// allocations made after it is set (runtime.MemProfileRate's doc asks
	// for it "as early as possible" in the program's execution).
	if profilePath != "" {
		if r, err := strconv.Atoi(os.Getenv(ProfileRateEnvVar)); err == nil && r > 0 {
			runtime.MemProfileRate = r
		}
	}
}

// Enabled reports whether the probe will write a report.
func Enabled() bool { return enabled }

// Observe records one operation's latency. It never allocates and is safe
// for concurrent use.
func Observe(d time.Duration) {
	if !enabled {
		return
	}
	lat.record(d)
}

// Done writes the report when MEMGATE_PROBE_FILE is set. Call it once, at
// the end of main (defer). Errors go to stderr: a probe never fails its
// program.
func Done() {
	if !enabled {
		return
	}
	doc := map[string]any{
		"schema":     Schema,
		"lang":       "go",
		"go_version": runtime.Version(),
		"metrics":    readMetrics(),
		"latency":    lat.summary(),
	}
	b, err := json.Marshal(doc)
	if err == nil {
		err = writeAtomically(path, func(f *os.File) error {
			_, err := f.Write(b)
			return err
		})
	}
	if err == nil && profilePath != "" {
		// The heap profile of the last completed collection: readMetrics
		// ended with runtime.GC(), so in-use is what the program retains
		// at exit, and the allocation totals cover the whole run.
		err = writeAtomically(profilePath, func(f *os.File) error {
			return pprof.Lookup("heap").WriteTo(f, 0)
		})
	}
	if err != nil {
		os.Stderr.WriteString("memgate probe: " + err.Error() + "\n")
	}
}

// writeAtomically writes a file through a temporary name and a rename, so
// memgate never reads half a file.
func writeAtomically(name string, write func(*os.File) error) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err = write(f); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// readMetrics reads every runtime/metrics value the report uses that this
// Go version supports, and derives memgate's metrics from them.
func readMetrics() map[string]float64 {
	supported := map[string]bool{}
	for _, d := range metrics.All() {
		supported[d.Name] = true
	}
	names := []string{
		"/gc/heap/allocs:bytes", "/gc/heap/allocs:objects", "/gc/heap/tiny/allocs:objects",
		"/gc/heap/frees:bytes", "/gc/heap/goal:bytes", "/gc/heap/live:bytes",
		"/gc/cycles/total:gc-cycles", "/gc/cycles/forced:gc-cycles",
		"/memory/classes/total:bytes",
		"/cpu/classes/gc/total:cpu-seconds", "/cpu/classes/total:cpu-seconds",
		"/sched/pauses/total/gc:seconds", "/gc/pauses:seconds",
	}
	var samples []metrics.Sample
	for _, n := range names {
		if supported[n] {
			samples = append(samples, metrics.Sample{Name: n})
		}
	}
	metrics.Read(samples)
	v := map[string]metrics.Value{}
	for _, s := range samples {
		v[s.Name] = s.Value
	}
	u := func(name string) (float64, bool) {
		x, ok := v[name]
		if !ok || x.Kind() != metrics.KindUint64 {
			return 0, false
		}
		return float64(x.Uint64()), true
	}
	f := func(name string) (float64, bool) {
		x, ok := v[name]
		if !ok || x.Kind() != metrics.KindFloat64 {
			return 0, false
		}
		return x.Float64(), true
	}
	out := map[string]float64{}
	if b, ok := u("/gc/heap/allocs:bytes"); ok {
		out["heap.alloc.bytes"] = b
	}
	// allocs:objects excludes tiny objects; testing's allocs/op includes them.
	if o, ok := u("/gc/heap/allocs:objects"); ok {
		tiny, _ := u("/gc/heap/tiny/allocs:objects")
		out["heap.alloc.objects"] = o + tiny
	}
	put := func(key, name string) {
		if x, ok := u(name); ok {
			out[key] = x
		}
	}
	put("heap.goal.bytes", "/gc/heap/goal:bytes")
	put("heap.live.bytes", "/gc/heap/live:bytes")
	put("gc.cycles", "/gc/cycles/total:gc-cycles")
	put("gc.cycles.forced", "/gc/cycles/forced:gc-cycles")
	put("memory.total.bytes", "/memory/classes/total:bytes")
	if gc, ok := f("/cpu/classes/gc/total:cpu-seconds"); ok {
		if total, ok := f("/cpu/classes/total:cpu-seconds"); ok && total > 0 {
			out["gc.cpu.fraction"] = gc / total
		}
	}
	pauses := "/sched/pauses/total/gc:seconds"
	if _, ok := v[pauses]; !ok {
		pauses = "/gc/pauses:seconds" // before Go 1.22
	}
	if x, ok := v[pauses]; ok && x.Kind() == metrics.KindFloat64Histogram {
		h := x.Float64Histogram()
		out["gc.pause.p50"] = histQuantile(h, 0.50)
		out["gc.pause.p99"] = histQuantile(h, 0.99)
		out["gc.pause.max"] = histQuantile(h, 1)
		out["gc.pause.total"] = histSum(h)
	}
	endOfRun(out)
	return out
}

// endOfRun adds the heap the program retains at exit, read after one last
// collection: runtime.GC blocks until the cycle is complete and every span
// is swept, so /memory/classes/heap/objects then holds the live objects
// alone. Read before it, the figure counts garbage not yet swept, which
// depends on when the last cycle ran (117% run-to-run spread on churn, even
// stop-the-world). Everything else was read first: the extra cycle is not
// counted in gc.cycles or the pauses.
func endOfRun(out map[string]float64) {
	runtime.GC()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return // a Go version without these names
		}
	}
	objs := float64(samples[0].Value.Uint64())
	unused := float64(samples[1].Value.Uint64())
	free := float64(samples[2].Value.Uint64())
	out["heap.end.bytes"] = objs
	if held := objs + unused + free; held > 0 {
		// Heap memory the runtime holds (not returned to the OS) that
		// is not occupied by live objects.
		out["alloc.fragmentation"] = 1 - objs/held
	}
}

// histQuantile returns the upper bound of the bucket holding quantile q
// (the lower bound when that bucket is unbounded above); 0 when empty.
func histQuantile(h *metrics.Float64Histogram, q float64) float64 {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			hi := h.Buckets[i+1]
			if math.IsInf(hi, 1) {
				return h.Buckets[i]
			}
			return hi
		}
	}
	return h.Buckets[len(h.Buckets)-1]
}

// histSum estimates the sum of a histogram from bucket midpoints.
func histSum(h *metrics.Float64Histogram) float64 {
	sum := 0.0
	for i, c := range h.Counts {
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		if math.IsInf(lo, -1) {
			lo = 0
		}
		if math.IsInf(hi, 1) {
			hi = lo
		}
		sum += float64(c) * (lo + hi) / 2
	}
	return sum
}

// histogram is a log-linear latency histogram: 16 sub-buckets per power of
// two of nanoseconds (at most 1/16 = 6.25% relative error), lock-free and
// allocated once, so Observe never allocates.
type histogram struct {
	counts [64 * subBuckets]atomic.Uint64
	count  atomic.Uint64
	max    atomic.Int64
}

const subBits = 4
const subBuckets = 1 << subBits

func bucketOf(ns int64) int {
	if ns < subBuckets {
		return int(ns)
	}
	exp := bits.Len64(uint64(ns)) - 1 // ns in [2^exp, 2^(exp+1))
	sub := int(uint64(ns)>>(exp-subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + sub
}

// upperOf is the largest value that falls in bucket b.
func upperOf(b int) int64 {
	if b < subBuckets {
		return int64(b)
	}
	exp := b/subBuckets + subBits - 1
	sub := b % subBuckets
	lo := int64(1)<<exp + int64(sub)<<(exp-subBits)
	return lo + int64(1)<<(exp-subBits) - 1
}

func (h *histogram) record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(ns)].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

func (h *histogram) quantile(q float64) float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			v := upperOf(b)
			if m := h.max.Load(); v > m {
				v = m
			}
			return float64(v) / 1e9
		}
	}
	return float64(h.max.Load()) / 1e9
}

func (h *histogram) summary() map[string]float64 {
	n := h.count.Load()
	if n == 0 {
		return map[string]float64{"count": 0}
	}
	return map[string]float64{
		"count": float64(n),
		"p50":   h.quantile(0.50),
		"p99":   h.quantile(0.99),
		"max":   float64(h.max.Load()) / 1e9,
	}
}
