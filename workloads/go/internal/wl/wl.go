// Package wl holds what every workload shares: the common flags, sized
// allocations under -scale, and a sink the compiler cannot optimise away.
package wl

import (
	"flag"
	"math/rand"
)

// Params are the flags every workload takes.
type Params struct {
	// N is the workload's amount of work (requests, inserts, rounds).
	N int
	// Scale multiplies every allocation size: -scale 1.10 is a known 10% regression.
	Scale float64
	// Grow multiplies the sizes of one named allocation site only (retain's
	// newEntry): -grow 1.2 is a known regression of that site and no other.
	Grow float64
	// Rand is seeded from -seed: runs are deterministic.
	Rand *rand.Rand
}

// Parse defines -n, -scale and -seed with the workload's default n, and parses.
func Parse(defaultN int) Params {
	n := flag.Int("n", defaultN, "amount of work")
	scale := flag.Float64("scale", 1.0, "multiplier of every allocation size")
	grow := flag.Float64("grow", 1.0, "multiplier of the workload's growable site (retain: newEntry)")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	return Params{N: *n, Scale: *scale, Grow: *grow, Rand: rand.New(rand.NewSource(*seed))}
}

// Size scales a base size.
func (p Params) Size(base int) int {
	return int(float64(base) * p.Scale)
}

// Between returns a scaled size drawn uniformly from [lo, hi).
func (p Params) Between(lo, hi int) int {
	return p.Size(lo + p.Rand.Intn(hi-lo))
}

// Sink keeps values reachable so the compiler cannot drop allocations.
var Sink any

// Touch writes every 512th byte so the buffer's pages become resident.
func Touch(b []byte) {
	for i := 0; i < len(b); i += 512 {
		b[i] = byte(i)
	}
}
