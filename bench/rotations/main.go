// Command rotations measures how many rotations per second one Rotor
// server completes when many secrets are due at once, and the engine's own
// overhead per run — the time not spent inside the rotation function.
//
//	go run ./bench/rotations [-secrets 1000] [-workers 4]
//
// It wires the real pieces in-process (SQLite store in a temp dir with
// durable commits, keyring, auth, manager, engine) and uses the trivial
// built-in function rotor-generate-password, whose four steps go through
// the same secrets-service operations an external function would call.
//
// Two phases run in the same invocation on the same machine:
//
//   - engine: N secrets are queued with RotateSecret, then the engine runs
//     them all (claim, record each step before and after, complete);
//   - reference: N other secrets are queued the same way, then the same
//     four function steps are invoked directly by the same number of
//     workers, with no engine bookkeeping.
//
// The ratio reference/engine time is the share of the engine's wall time
// that the function itself accounts for; the difference, spread over the
// runs and workers, is the engine's overhead per run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/rotation/builtins"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

const region = "us-east-1"

// profile names the engine phase's CPU profile ("" = none).
var profile string

func main() {
	n := flag.Int("secrets", 1000, "secrets rotated in each phase")
	workers := flag.Int("workers", 8, "engine workers (and reference workers; the server's default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the engine phase to this file")
	flag.Parse()
	profile = *cpuprofile
	if *n < 1 || *n > 1000 {
		fmt.Fprintln(os.Stderr, "rotations: -secrets must be 1-1000 (the run listing it checks with is capped there)")
		os.Exit(2)
	}
	if err := run(*n, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "rotations:", err)
		os.Exit(1)
	}
}

// timed wraps a function and adds up the time spent inside it.
type timed struct {
	fn    lambda.Function
	total atomic.Int64
}

func (t *timed) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	t0 := time.Now()
	res, err := t.fn.Invoke(ctx, inv)
	t.total.Add(int64(time.Since(t0)))
	return res, err
}

func run(n, workers int) error {
	dir, err := os.MkdirTemp("", "rotor-rotations")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(filepath.Join(dir, "rotor.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	kr, err := envelope.Generate()
	if err != nil {
		return err
	}
	// The core is never started: the engine phase drives the engine with
	// RunDue.
	core, err := server.New(context.Background(), server.Options{Store: store, Keyring: kr, Regions: []string{region},
		Account: "000000000000", PruneMinAge: time.Nanosecond, Rotation: server.RotationOptions{Workers: workers, MaxAttempts: 1}})
	if err != nil {
		return err
	}
	defer core.Close()
	svc, eng := core.Manager, core.Engine
	fn := &timed{fn: builtins.Functions(svc, nil)[builtins.GeneratePassword]}
	core.Registry.Register("bench", "builtin", nil, fn)
	arn := core.Registry.ARN(region, "bench")
	ctx := rotor.NewContext(context.Background(), rotor.Caller{Region: region, Principal: rotor.Principal{Identity: "bench", Role: rotor.RoleAdmin}})

	queue := func(prefix string) ([]rotor.RunRecord, error) {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s/%04d", prefix, i)
			v := `{"username":"u","password":"p"}`
			if _, err := svc.CreateSecret(ctx, rotor.CreateSecretInput{Name: name, ClientRequestToken: uuid.NewString(), Value: rotor.Value{String: &v}}); err != nil {
				return nil, err
			}
			if _, err := svc.RotateSecret(ctx, rotor.RotateSecretInput{SecretID: name, RotationLambdaARN: arn}); err != nil {
				return nil, err
			}
		}
		return svc.ListRotationRuns(ctx, rotor.RunFilter{Status: rotor.RunPending, Limit: n})
	}

	// Engine phase.
	if _, err := queue("engine"); err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	st0 := store.Stats()
	cpu0 := cpuTime()
	t0 := time.Now()
	done, err := eng.RunDue(ctx)
	if err != nil {
		return err
	}
	engineTime := time.Since(t0)
	engineCPU := cpuTime() - cpu0
	st1 := store.Stats()
	if profile != "" {
		pprof.StopCPUProfile()
	}
	engineFn := time.Duration(fn.total.Swap(0))
	ok, err := svc.ListRotationRuns(ctx, rotor.RunFilter{Status: rotor.RunSucceeded, Limit: n})
	if err != nil {
		return err
	}
	if done != n || len(ok) != n {
		return fmt.Errorf("engine phase: %d runs executed, %d succeeded, want %d", done, len(ok), n)
	}

	// Reference phase: the same steps, invoked directly.
	runs, err := queue("reference")
	if err != nil {
		return err
	}
	work := make(chan rotor.RunRecord)
	var wg sync.WaitGroup
	var failed atomic.Int64
	st2 := store.Stats()
	cpu1 := cpuTime()
	t1 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				for _, step := range rotor.Steps {
					_, err := fn.Invoke(ctx, lambda.Invocation{Region: region, Event: lambda.Event{Step: step, SecretID: r.SecretARN, ClientRequestToken: r.Token}})
					if err != nil {
						failed.Add(1)
						break
					}
				}
			}
		}()
	}
	for _, r := range runs {
		work <- r
	}
	close(work)
	wg.Wait()
	refTime := time.Since(t1)
	refCPU := cpuTime() - cpu1
	st3 := store.Stats()
	if failed.Load() > 0 || len(runs) != n {
		return fmt.Errorf("reference phase: %d of %d runs failed", failed.Load(), len(runs))
	}

	overhead := time.Duration(float64(engineTime-refTime) * float64(workers) / float64(n))
	fmt.Printf("%d secrets due at once, %d workers, function rotor-generate-password, SQLite with synchronous=FULL\n", n, workers)
	fmt.Printf("%-10s %10s %14s %22s\n", "phase", "time", "rotations/s", "time in function")
	fmt.Printf("%-10s %10s %14.1f %22s\n", "engine", engineTime.Round(time.Millisecond), float64(n)/engineTime.Seconds(), engineFn.Round(time.Millisecond))
	fmt.Printf("%-10s %10s %14.1f %22s\n", "reference", refTime.Round(time.Millisecond), float64(n)/refTime.Seconds(), time.Duration(fn.total.Load()).Round(time.Millisecond))
	fmt.Printf("ratio engine/reference throughput = %.2f\n", refTime.Seconds()/engineTime.Seconds())
	fmt.Printf("engine overhead per run (time not in the function, per worker) = %s\n", overhead.Round(10*time.Microsecond))
	fmt.Printf("CPU per rotation (this process, user+system): engine %s, reference %s; engine overhead %s\n",
		(engineCPU / time.Duration(n)).Round(time.Microsecond), (refCPU / time.Duration(n)).Round(time.Microsecond), ((engineCPU - refCPU) / time.Duration(n)).Round(time.Microsecond))
	if cores := runtime.NumCPU(); engineCPU > 0 {
		fmt.Printf("CPU-bound ceiling on %d idle cores: engine %.0f rotations/s, reference %.0f rotations/s\n",
			cores, float64(cores)*float64(n)/engineCPU.Seconds(), float64(cores)*float64(n)/refCPU.Seconds())
	}
	engUpdates, refUpdates := float64(st1.Updates-st0.Updates)/float64(n), float64(st3.Updates-st2.Updates)/float64(n)
	fmt.Printf("write transactions per run: engine %.2f (bookkeeping %.2f), reference %.2f\n", engUpdates, engUpdates-refUpdates, refUpdates)
	fmt.Printf("commits (fsyncs) per run: engine %.2f, reference %.2f\n", float64(st1.Commits-st0.Commits)/float64(n), float64(st3.Commits-st2.Commits)/float64(n))
	return nil
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
