// retain: a cache whose retained heap grows to a bound and is evicted
// first-in first-out. Moves heap.live.bytes, heap.peak.bytes and GC mark
// time: every cycle must mark the whole cache.
package main

import (
	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

func main() {
	defer probe.Done()
	p := wl.Parse(60000)
	const capacity = 12000
	cache := make(map[int][]byte, capacity)
	order := make([]int, 0, capacity)
	for i := 0; i < p.N; i++ {
		if len(order) == capacity {
			delete(cache, order[0])
			order = order[1:]
		}
		v := make([]byte, p.Between(512, 4096))
		wl.Touch(v)
		cache[i] = v
		order = append(order, i)
	}
	wl.Sink = cache
}
