package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestBucketsCoverAndOrder(t *testing.T) {
	prev := -1
	for _, ns := range []int64{0, 1, 15, 16, 17, 31, 32, 1000, 1 << 20, 123456789, 1 << 40} {
		b := bucketOf(ns)
		if b < prev {
			t.Fatalf("bucket of %d went backwards", ns)
		}
		prev = b
		if up := upperOf(b); up < ns {
			t.Fatalf("upper bound %d of bucket %d is below %d", up, b, ns)
		} else if ns >= 16 && float64(up-ns) > float64(ns)/16 {
			t.Fatalf("bucket of %d is wider than 1/16: upper %d", ns, up)
		}
	}
}

func TestQuantilesOfAKnownDistribution(t *testing.T) {
	h := new(histogram)
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	s := h.summary()
	if s["count"] != 1000 || s["max"] != 0.001 {
		t.Fatalf("count/max: %v", s)
	}
	for q, want := range map[string]float64{"p50": 500e-6, "p99": 990e-6} {
		if got := s[q]; got < want || got > want*(1+1.0/16) {
			t.Fatalf("%s = %v, want %v within 1/16 above", q, got, want)
		}
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	saved := enabled
	enabled, lat = true, new(histogram)
	defer func() { enabled = saved }()
	if a := testing.AllocsPerRun(1000, func() { Observe(time.Millisecond) }); a != 0 {
		t.Fatalf("Observe allocates %v times per call", a)
	}
	enabled = false
	if a := testing.AllocsPerRun(1000, func() { Observe(time.Millisecond) }); a != 0 {
		t.Fatalf("disabled Observe allocates %v times per call", a)
	}
}

func TestDoneWritesTheDocument(t *testing.T) {
	savedPath, savedEnabled := path, enabled
	defer func() { path, enabled = savedPath, savedEnabled }()
	path = filepath.Join(t.TempDir(), "probe.json")
	enabled, lat = true, new(histogram)
	Observe(2 * time.Millisecond)
	Done()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema  string             `json:"schema"`
		Lang    string             `json:"lang"`
		Metrics map[string]float64 `json:"metrics"`
		Latency map[string]float64 `json:"latency"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != Schema || doc.Lang != "go" || doc.Latency["count"] != 1 {
		t.Fatalf("document: %s", b)
	}
	for _, k := range []string{"heap.alloc.bytes", "heap.alloc.objects", "gc.cycles", "heap.end.bytes"} {
		if _, ok := doc.Metrics[k]; !ok {
			t.Fatalf("missing %s in %s", k, b)
		}
	}
}

// TestOwnAllocation bounds what the enabled probe allocates: its
// histogram and everything Done does before it reads the allocation
// counter. 33-56 KB measured (go1.26, 2 cores); the bound, 64 KiB, is
// under 1% of the 50 MB the smallest bundled Go workload allocates, the
// probe's target. benches/go_probe.sh compares it with each workload's total.
func TestOwnAllocation(t *testing.T) {
	savedPath, savedEnabled := path, enabled
	defer func() { path, enabled = savedPath, savedEnabled }()
	path = filepath.Join(t.TempDir(), "probe.json")
	// ReadMemStats flushes the per-P caches: exact to the byte.
	read := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	before := read()
	enabled, lat = true, new(histogram)
	Observe(time.Millisecond)
	Done()
	after := read()
	t.Logf("probe allocates %d bytes", after-before)
	if got := after - before; got > 64<<10 {
		t.Errorf("the probe allocates %d bytes, over 64 KiB", got)
	}
}
