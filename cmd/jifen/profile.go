package main

import (
	"os"
	"runtime/pprof"
)

// profileCPU writes a CPU profile to path until stop is called; an empty
// path profiles nothing. (--cpuprofile of serve and demo, for
// BENCHMARKS.md: `go tool pprof jifen FILE`.)
func profileCPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
