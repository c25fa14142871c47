// bigobj: large (> 32 KiB) allocations of mixed sizes, each its own span,
// with a sliding window of 16 kept alive. Moves heap.alloc.bytes and
// process.rss.peak, and shows RSS running ahead of the heap.
package main

import (
	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

func main() {
	defer probe.Done()
	p := wl.Parse(1500)
	var window [16][]byte
	for i := 0; i < p.N; i++ {
		b := make([]byte, p.Between(32<<10, 1<<20))
		wl.Touch(b)
		window[i%len(window)] = b
	}
	wl.Sink = window
}
