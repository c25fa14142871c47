// concurrent: many goroutines allocating at once, each keeping a little.
// Moves heap.alloc.bytes, GC assists and per-P cache behaviour
// (gc.cpu.fraction, gc.pause.*).
package main

import (
	"math/rand"
	"sync"

	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

func main() {
	defer probe.Done()
	p := wl.Parse(160000)
	const workers = 16
	var wg sync.WaitGroup
	kept := make([][][]byte, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each worker has its own seeded source: deterministic totals.
			r := rand.New(rand.NewSource(int64(w) + 1))
			var local [][]byte
			for i := 0; i < p.N/workers; i++ {
				b := make([]byte, p.Size(64+r.Intn(1984)))
				b[0] = byte(i)
				if i%64 == 0 {
					local = append(local, b)
				}
			}
			kept[w] = local
		}(w)
	}
	wg.Wait()
	wl.Sink = kept
}
