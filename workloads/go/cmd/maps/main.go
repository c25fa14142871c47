// maps: maps grown to many entries and then emptied, which do not shrink:
// the buckets stay allocated. Moves heap.live.bytes and heap.end.bytes
// (retained memory) more than the allocation rate suggests.
package main

import (
	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

func main() {
	defer probe.Done()
	p := wl.Parse(6)
	const entries = 6000
	var kept []map[int][]byte
	for round := 0; round < p.N; round++ {
		m := make(map[int][]byte)
		for i := 0; i < entries; i++ {
			m[round*entries+i] = make([]byte, p.Between(2048, 8192))
		}
		for k := range m {
			delete(m, k)
		}
		kept = append(kept, m) // empty, but its buckets are still allocated
	}
	wl.Sink = kept
}
