// Command readsecret measures what a read that misses the service's cache
// costs in the SQLite store: Store.ReadSecret (one statement, see
// rotor.SecretReader) against the reference, the View the manager uses
// without it (a read transaction with SecretByName and Versions), run
// alternately in the same invocation over the same random names.
//
//	go run ./bench/readsecret -db DIR/data/rotor.db [-secrets 1000000] [-reads 40000] [-par 1,4] [-only ReadSecret] [-cpuprofile FILE]
//
// The database is one built by bench/getsecret -secrets N -store DIR
// (names scale/0000000 ... in us-east-1); it is opened with sqlite.Open,
// which applies any migration it lacks. For each parallelism (goroutines
// reading at once) it prints, per path, the process's user and system CPU
// time per read (Linux getrusage), read(2) calls per read (/proc/self/io:
// each is a page SQLite's page cache did not hold) and the ratio of the
// two paths' CPU per read.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

func main() {
	path := flag.String("db", "", "SQLite database built by bench/getsecret -store (required)")
	secrets := flag.Int("secrets", 1000000, "number of secrets in the database (scale/0000000 ...)")
	reads := flag.Int("reads", 40000, "reads per path and parallelism, after as many to warm up")
	parList := flag.String("par", "1,4", "comma-separated numbers of goroutines reading at once")
	only := flag.String("only", "", "run only the path of this name (View or ReadSecret)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs (not the warm-ups) to this file")
	flag.Parse()
	if err := run(*path, *secrets, *reads, *parList, *only, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "readsecret:", err)
		os.Exit(1)
	}
}

func run(path string, secrets, reads int, parList, only, cpuProfile string) error {
	if path == "" {
		return fmt.Errorf("-db is required")
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	st, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	paths := []struct {
		name string
		read func(name string) error
	}{
		{"View", func(name string) error {
			return st.View(ctx, func(tx rotor.Tx) error {
				rec, err := tx.SecretByName("us-east-1", name)
				if err != nil {
					return err
				}
				_, err = tx.Versions(rec.ARN)
				return err
			})
		}},
		{"ReadSecret", func(name string) error {
			_, _, err := st.ReadSecret(ctx, "us-east-1", name)
			return err
		}},
	}
	if only != "" {
		paths = slices.DeleteFunc(paths, func(p struct {
			name string
			read func(name string) error
		}) bool {
			return p.name != only
		})
		if len(paths) == 0 {
			return fmt.Errorf("-only %q: no such path", only)
		}
	}
	var prof *os.File
	if cpuProfile != "" {
		if prof, err = os.Create(cpuProfile); err != nil {
			return err
		}
		defer prof.Close()
	}
	fmt.Printf("reads of one secret with its versions, uniform over %d secrets, %d reads per run, load %s\n", secrets, reads, loadAvg())
	fmt.Printf("%-4s %-11s %12s %12s %12s %12s\n", "par", "path", "user/read", "sys/read", "CPU/read", "reads(2)")
	for _, p := range strings.Split(parList, ",") {
		par, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || par < 1 {
			return fmt.Errorf("bad -par entry %q", p)
		}
		cpu := make([]time.Duration, len(paths))
		for i, pth := range paths {
			if _, err := measure(pth.read, secrets, reads, par, uint64(i)); err != nil { // warm-up
				return err
			}
			if prof != nil {
				if err := pprof.StartCPUProfile(prof); err != nil {
					return err
				}
			}
			r, err := measure(pth.read, secrets, reads, par, uint64(i)+100)
			if prof != nil {
				pprof.StopCPUProfile()
				prof = nil // one profile: the first measured run
			}
			if err != nil {
				return err
			}
			cpu[i] = r.user + r.sys
			fmt.Printf("%-4d %-11s %12s %12s %12s %12.1f\n", par, pth.name, r.user, r.sys, cpu[i], r.syscr)
		}
		if len(paths) == 2 {
			fmt.Printf("%-4d CPU per read, View / ReadSecret = %.2f\n", par, float64(cpu[0])/float64(cpu[1]))
		}
	}
	return nil
}

// result is one run's cost per read.
type result struct {
	user, sys time.Duration
	syscr     float64
}

// measure runs reads reads of random secrets on par goroutines.
func measure(read func(string) error, secrets, reads, par int, seed uint64) (result, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	u0, s0 := rusage()
	r0 := syscr()
	for g := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range reads / par {
				if err := read(fmt.Sprintf("scale/%07d", rng.IntN(secrets))); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	u1, s1 := rusage()
	n := time.Duration(reads / par * par)
	return result{user: ((u1 - u0) / n).Round(100 * time.Nanosecond), sys: ((s1 - s0) / n).Round(100 * time.Nanosecond),
		syscr: float64(syscr()-r0) / float64(n)}, nil
}

// rusage returns the process's user and system CPU time so far.
func rusage() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// syscr returns the read system calls the process made so far
// (/proc/self/io; 0 where unavailable).
func syscr() int64 {
	data, _ := os.ReadFile("/proc/self/io")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// loadAvg returns the 1-minute load average, from /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "n/a"
}
