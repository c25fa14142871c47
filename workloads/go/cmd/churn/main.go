// churn: a high rate of short-lived request-like objects. Moves
// heap.alloc.bytes, heap.alloc.objects and gc.cycles (allocation rate, GC
// frequency); the live heap stays small.
package main

import (
	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

type request struct {
	id      int
	body    []byte
	headers []byte
}

func main() {
	defer probe.Done()
	p := wl.Parse(200000)
	var sum int
	for i := 0; i < p.N; i++ {
		r := &request{id: i, body: make([]byte, p.Between(256, 1024)), headers: make([]byte, p.Between(64, 256))}
		r.body[0] = byte(i)
		sum += len(r.body) + len(r.headers) + int(r.body[0])
		wl.Sink = r
	}
	wl.Sink = sum
}
