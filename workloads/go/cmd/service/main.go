// service: an in-process request loop that parses a payload, builds a
// response and records each request's latency with probe.Observe, so GC
// pauses can be read against p50/p99/max request latency.
package main

import (
	"strconv"
	"strings"
	"time"

	"memgate.dev/workloads/internal/wl"
	"memgate.dev/workloads/probe"
)

type session struct {
	user  string
	items []string
	state []byte
}

func main() {
	defer probe.Done()
	p := wl.Parse(30000)
	sessions := make(map[int]*session)
	for i := 0; i < p.N; i++ {
		start := time.Now()
		// Parse a request: fields separated by '&'.
		payload := make([]byte, p.Between(200, 1200))
		for j := range payload {
			payload[j] = 'a' + byte(j%26)
		}
		fields := strings.Split(string(payload), "m")
		s := sessions[i%2000]
		if s == nil {
			s = &session{user: "user" + strconv.Itoa(i%2000)}
			sessions[i%2000] = s
		}
		s.state = make([]byte, p.Between(256, 2048))
		s.items = append(s.items[:0], fields...)
		// Build the response.
		var b strings.Builder
		b.Grow(p.Size(512))
		for _, f := range s.items {
			b.WriteString(f)
		}
		wl.Sink = b.String()
		probe.Observe(time.Since(start))
	}
	wl.Sink = sessions
}
