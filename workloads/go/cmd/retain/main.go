// retain: a cache whose retained heap grows to a bound and is evicted
// first-in first-out. Moves heap.live.bytes, heap.peak.bytes and GC mark
// time: every cycle must mark the whole cache. Two named allocation sites,
// newEntry (the values) and newLabel (a small record per entry): -grow
// multiplies newEntry's sizes alone, the known regression of one site that
// memgate's attribution must name.
package main

import (
	"strconv"

	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

type entry struct {
	value []byte
	label *label
}

type label struct {
	id   int
	name string
}

func main() {
	defer probe.Done()
	p := wl.Parse(60000)
	const capacity = 12000
	cache := make(map[int]entry, capacity)
	order := make([]int, 0, capacity)
	for i := 0; i < p.N; i++ {
		if len(order) == capacity {
			delete(cache, order[0])
			order = order[1:]
		}
		cache[i] = entry{value: newEntry(p), label: newLabel(i)}
		order = append(order, i)
	}
	wl.Sink = cache
}

// newEntry allocates one cached value, its pages touched.
//
//go:noinline
func newEntry(p wl.Params) []byte {
	v := make([]byte, int(float64(p.Between(512, 4096))*p.Grow))
	wl.Touch(v)
	return v
}

// newLabel allocates the small record kept beside each value.
//
//go:noinline
func newLabel(i int) *label {
	return &label{id: i, name: "entry-" + strconv.Itoa(i)}
}
