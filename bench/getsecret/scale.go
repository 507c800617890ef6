package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/bench/internal/awsreq"
	"github.com/rotorhq/rotor/bench/internal/serverproc"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/sqlite"
)

// scaleName is the name of secret i of a scale run.
func scaleName(i int) string { return fmt.Sprintf("scale/%07d", i) }

// buildStore adds n secrets named scaleName(0..n-1) with one AWSCURRENT
// version each (a valueSize-byte value sealed by the server's own keyring)
// to the stopped server's data directory, through the Store in large
// transactions, as CreateSecret would store them, and as read today.
func buildStore(dataDir string, n, valueSize int) error {
	kr, err := envelope.LoadFile(dataDir + "/kek.json")
	if err != nil {
		return err
	}
	st, err := sqlite.Open(dataDir + "/rotor.db")
	if err != nil {
		return err
	}
	defer st.Close()
	value := []byte(strings.Repeat("v", valueSize))
	now := time.Now().UTC()
	// Recorded as read today, so the first read of each secret does not
	// write LastAccessedDate (a write transaction per secret, which is the
	// write path's cost, not the read path's).
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	const batch = 20000
	for lo := 0; lo < n; lo += batch {
		err := st.Update(context.Background(), func(tx rotor.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				name := scaleName(i)
				arn := rotor.SecretARN("us-east-1", "000000000000", name, fmt.Sprintf("%06d", i%1000000))
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				sealed, err := kr.Seal(value, envelope.VersionAAD(arn, id))
				if err != nil {
					return err
				}
				if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: "us-east-1", Name: name,
					CreatedDate: now, LastChangedDate: now, LastAccessedDate: today}); err != nil {
					return err
				}
				if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: id, Value: &sealed, CreatedDate: now, LastAccessedDate: today}); err != nil {
					return err
				}
				if err := tx.SetStage(arn, rotor.StageCurrent, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("build store: %w", err)
		}
	}
	return nil
}

// signedReq is one pre-signed GetSecretValue request: header, plus
// Authorization when auth is not "" (the scale runs share one header of
// the common fields, so a million signed requests fit in memory).
type signedReq struct {
	header http.Header
	auth   string
	body   []byte
}

// presign signs count GetSecretValue requests for secrets drawn from dist
// ("uniform" or "zipf", s = 1.1) over n secrets, each drawn independently.
// Each secret drawn is signed once (its request is replayed when drawn
// again); a signature stays valid for 15 minutes.
func presign(ctx context.Context, url, id, secret string, n, count int, dist string, seed uint64) ([]signedReq, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var next func() int
	switch dist {
	case "uniform":
		next = func() int { return rng.IntN(n) }
	case "zipf":
		z := rand.NewZipf(rng, 1.1, 1, uint64(n-1))
		// Scatter the ranks so hot secrets are not neighbours in the table.
		perm := rand.New(rand.NewPCG(seed, 8)).Perm(n)
		next = func() int { return perm[z.Uint64()] }
	default:
		return nil, fmt.Errorf("-dist %q: want uniform or zipf", dist)
	}
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	now := time.Now()
	var common http.Header     // every header but Authorization, the same for all
	signed := make([]int32, n) // index+1 in out of secret i's first request; 0 = not signed yet
	out := make([]signedReq, count)
	for i := range out {
		k := next()
		if j := signed[k]; j > 0 {
			out[i] = out[j-1]
			continue
		}
		body := []byte(`{"SecretId":"` + scaleName(k) + `"}`)
		req, err := awsreq.Signed(ctx, url, "secretsmanager.GetSecretValue", body, creds, "secretsmanager", "us-east-1", now)
		if err != nil {
			return nil, err
		}
		auth := req.Header.Get("Authorization")
		req.Header.Del("Authorization")
		if common == nil {
			common = req.Header
		} else if !maps.EqualFunc(common, req.Header, slices.Equal) {
			return nil, fmt.Errorf("signed requests differ in more than Authorization: %v, %v", common, req.Header)
		}
		out[i] = signedReq{header: common, auth: auth, body: body}
		signed[k] = int32(i + 1)
	}
	return out, nil
}

// cacheCounters returns the rotor server's cache hits and misses so far,
// from the /metrics of its debug listener at base; ok is false if they
// cannot be read.
func cacheCounters(base string) (hits, misses float64, ok bool) {
	v, ok := serverproc.Scrape(base, "rotor_cache_hits_total", "rotor_cache_misses_total")
	return v[0], v[1], ok
}

// waitPreload waits until the rotor server whose debug listener is at base
// has finished preloading its cache (cache.preload): until the number of
// cached secrets stopped changing for a second, with no requests served
// meanwhile. It returns that number and its estimated bytes.
func waitPreload(base string) (entries, bytes float64, err error) {
	last, stable := -1.0, 0
	for stable < 4 {
		time.Sleep(250 * time.Millisecond)
		v, ok := serverproc.Scrape(base, "rotor_cache_entries", "rotor_cache_bytes")
		if !ok {
			return 0, 0, fmt.Errorf("cannot read rotor_cache_entries from %s/metrics", base)
		}
		if v[0] == last {
			stable++
		} else {
			last, stable = v[0], 0
		}
		entries, bytes = v[0], v[1]
	}
	return entries, bytes, nil
}

// rssMiB returns the resident set size of process pid in MiB, from
// /proc/<pid>/status (Linux); 0 if unknown.
func rssMiB(pid int) float64 { return statusMiB(pid, "VmRSS:") }

// anonMiB returns the anonymous part of pid's RSS (RssAnon: heap, stacks,
// SQLite's page caches; not memory-mapped file pages) in MiB.
func anonMiB(pid int) float64 { return statusMiB(pid, "RssAnon:") }

// statusMiB returns the field of /proc/<pid>/status in MiB.
func statusMiB(pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// loadAvg returns the 1-minute load average, from /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "n/a"
}

// listLatency returns the median latency of count ListSecrets calls (first
// page of 100).
func listLatency(ctx context.Context, sm *secretsmanager.Client, count int) (time.Duration, error) {
	var ds []time.Duration
	for range count {
		t0 := time.Now()
		if _, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)}); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[j] < ds[i] {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
	}
	return ds[len(ds)/2].Round(time.Microsecond), nil
}

// fetchProfile asks the rotor server's debug listener at base for a CPU
// profile of d and writes it to path; the returned function waits for it.
func fetchProfile(base, path string, d time.Duration) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(d.Round(time.Second)/time.Second))
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d: %s", resp.StatusCode, data)
		}
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
		}
	}()
	return func() { <-done }
}

// startScale starts a rotor server on a fresh data directory under tmp
// (with the audit log on or off) to create its keyring and credentials,
// stops it, and measures reads over scale.secrets secrets (runScale).
//
// With -store DIR the data directory is DIR/data and is kept: a later run
// with the same -secrets and -value-size reuses it instead of building the
// store again (building 1,000,000 secrets takes minutes). DIR/scale.txt
// records what was built; a DIR holding anything else is refused.
func startScale(tmp, rotorBin string, audit bool, duration, warmup time.Duration, connList string, valueSize int, profile string) error {
	dataDir := filepath.Join(tmp, "data")
	marker := ""
	want := fmt.Sprintf("secrets=%d value-size=%d\n", scale.secrets, valueSize)
	if scale.storeDir != "" {
		dataDir = filepath.Join(scale.storeDir, "data")
		marker = filepath.Join(scale.storeDir, "scale.txt")
		got, err := os.ReadFile(marker)
		switch {
		case err == nil && string(got) == want:
			if fi, err := os.Stat(marker); err == nil && fi.ModTime().UTC().Format(time.DateOnly) != time.Now().UTC().Format(time.DateOnly) {
				// The secrets were recorded as read on the day they were
				// built: today, every first read writes LastAccessedDate.
				fmt.Println("warning: the store was built on another day (UTC); first reads today also write LastAccessedDate")
			}
			return reuseScale(dataDir, rotorBin, audit, duration, warmup, connList, valueSize, profile)
		case err == nil:
			return fmt.Errorf("-store %s holds a store built with %q, not %q: use another directory", scale.storeDir, strings.TrimSpace(string(got)), strings.TrimSpace(want))
		case !os.IsNotExist(err):
			return err
		}
		if _, err := os.Stat(dataDir); err == nil {
			return fmt.Errorf("-store %s: %s exists without %s (an interrupted build?): remove it", scale.storeDir, dataDir, marker)
		}
		if err := os.MkdirAll(scale.storeDir, 0o700); err != nil {
			return err
		}
	}
	debugAddr, err := serverproc.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	rotorCmd := func() *exec.Cmd {
		cmd := exec.Command(rotorBin, rotorArgs(dataDir, debugAddr, audit)...)
		cmd.Env = append(os.Environ(), gcEnv()...)
		return cmd
	}
	rotor, err := serverproc.Start(rotorCmd())
	if err != nil {
		return err
	}
	defer func() { rotor.Stop() }()
	id, secret, err := serverproc.ReadCredentials(filepath.Join(dataDir, "credentials"))
	if err != nil {
		return err
	}
	rotor.Stop()
	t0 := time.Now()
	if err := buildStore(dataDir, scale.secrets, valueSize); err != nil {
		return err
	}
	build := time.Since(t0)
	if marker != "" {
		if err := os.WriteFile(marker, []byte(want), 0o600); err != nil {
			return err
		}
	}
	return runScale(dataDir, rotorCmd, &rotor, id, secret, build, duration, warmup, connList, valueSize, profile, debugAddr)
}

// reuseScale measures reads over the store a previous run built in dataDir
// (see startScale).
func reuseScale(dataDir, rotorBin string, audit bool, duration, warmup time.Duration, connList string, valueSize int, profile string) error {
	debugAddr, err := serverproc.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	rotorCmd := func() *exec.Cmd {
		cmd := exec.Command(rotorBin, rotorArgs(dataDir, debugAddr, audit)...)
		cmd.Env = append(os.Environ(), gcEnv()...)
		return cmd
	}
	id, secret, err := serverproc.ReadCredentials(filepath.Join(dataDir, "credentials"))
	if err != nil {
		return err
	}
	// Opening the store applies the migrations this version has and the
	// store lacks, which may take long at a million secrets: do it before
	// the server starts, so its startup time is its own (unless the server
	// measured is an older version, which would refuse a newer schema).
	if scale.premigrate {
		t0 := time.Now()
		st, err := sqlite.Open(filepath.Join(dataDir, "rotor.db"))
		if err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
		fmt.Printf("store opened (and migrated if needed) in %s\n", time.Since(t0).Round(time.Millisecond))
	}
	var rotor *serverproc.Child
	defer func() {
		if rotor != nil {
			rotor.Stop()
		}
	}()
	return runScale(dataDir, rotorCmd, &rotor, id, secret, 0, duration, warmup, connList, valueSize, profile, debugAddr)
}

// runScale starts the server on the store of scale.secrets secrets in
// dataDir (built in build; 0: reused) as *rotor and measures, per
// distribution and connection count, GetSecretValue against the bare
// handler, with the server's RSS after each run and the load average.
func runScale(dataDir string, rotorCmd func() *exec.Cmd, rotor **serverproc.Child, id, secret string,
	build, duration, warmup time.Duration, connList string, valueSize int, profile, debugAddr string) error {
	n := scale.secrets
	t0 := time.Now()
	r, err := serverproc.Start(rotorCmd())
	if err != nil {
		return err
	}
	*rotor = r
	startup := time.Since(t0)
	ctx := context.Background()
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(r.URL),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
	startRSS := rssMiB(r.PID())
	var preload string
	if scale.preload {
		t0 := time.Now()
		entries, bytes, err := waitPreload("http://" + debugAddr)
		if err != nil {
			return err
		}
		preload = fmt.Sprintf("cache preloaded %.0f secrets (%.0f MiB) in %s (with 1 s of stillness), RSS %.0f MiB, ",
			entries, bytes/(1<<20), time.Since(t0).Round(100*time.Millisecond), rssMiB(r.PID()))
	}
	// One real response fixes the size the bare handler answers with.
	_, respSize, err := signedRequest(ctx, r.URL, []byte(`{"SecretId":"`+scaleName(0)+`"}`), id, secret)
	if err != nil {
		return err
	}
	bareCmd := exec.Command(os.Args[0], "-bare")
	bareCmd.Env = append(append(os.Environ(), gcEnv()...), "BARE_RESPONSE_SIZE="+strconv.Itoa(respSize))
	bare, err := serverproc.Start(bareCmd)
	if err != nil {
		return err
	}
	defer bare.Stop()

	fmt.Printf("GetSecretValue over %d secrets, %d-byte values, cache.max_bytes %d MiB, database.mmap_bytes %d MiB, %s for both servers\n",
		n, valueSize, scale.cacheBytes>>20, scale.mmapBytes>>20, strings.Join(gcEnv(), " "))
	if build > 0 {
		fmt.Printf("build %s (%.0f secrets/s), ", build.Round(time.Millisecond), float64(n)/build.Seconds())
	} else {
		fmt.Printf("store reused from %s, ", dataDir)
	}
	fmt.Printf("server startup %s, RSS after startup %.0f MiB, %sload %s\n", startup.Round(time.Millisecond), startRSS, preload, loadAvg())
	if profile != "" { // the whole measurement, both servers' runs included
		runs := len(strings.Split(connList, ",")) * len(strings.Split(scale.dists, ","))
		wait := fetchProfile("http://"+debugAddr, profile, time.Duration(2*runs)*(warmup+duration))
		defer wait()
	}
	fmt.Printf("%-8s %-6s %-6s %10s %9s %9s %10s %9s %9s %6s\n", "dist", "conns", "server", "req/s", "p50", "p99", "cpu/req", "RSS MiB", "anon MiB", "load")
	for _, dist := range strings.Split(scale.dists, ",") {
		// Four draws per secret (up to two million), so a uniform load
		// reaches nearly every secret and a run wraps around the
		// sequence late or never, instead of replaying a small subset.
		reqs, err := presign(ctx, r.URL, id, secret, n, max(scale.presign, min(4*n, 2000000)), strings.TrimSpace(dist), uint64(n))
		if err != nil {
			return err
		}
		for i, c := range strings.Split(connList, ",") {
			conns, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil || conns < 1 {
				return fmt.Errorf("bad -conns entry %q", c)
			}
			var b, rr result
			if i%2 == 0 {
				b = load(bare.URL, bare.PID(), reqs, conns, warmup, duration, "")
				rr = load(r.URL, r.PID(), reqs, conns, warmup, duration, "http://"+debugAddr)
			} else {
				rr = load(r.URL, r.PID(), reqs, conns, warmup, duration, "http://"+debugAddr)
				b = load(bare.URL, bare.PID(), reqs, conns, warmup, duration, "")
			}
			if rr.errors > 0 || b.errors > 0 {
				return fmt.Errorf("errors during load: rotor %d (%s), bare %d (%s)", rr.errors, rr.firstErr, b.errors, b.firstErr)
			}
			la := loadAvg()
			fmt.Printf("%-8s %-6d %-6s %10.0f %9s %9s %10s %9.0f %9.0f %6s\n", dist, conns, "bare", b.rps, b.p50, b.p99, b.cpuText(), rssMiB(bare.PID()), anonMiB(bare.PID()), la)
			fmt.Printf("%-8s %-6d %-6s %10.0f %9s %9s %10s %9.0f %9.0f %6s\n", dist, conns, "rotor", rr.rps, rr.p50, rr.p99, rr.cpuText(), rssMiB(r.PID()), anonMiB(r.PID()), la)
			fmt.Printf("%-8s %-6d ratio rotor/bare throughput = %.2f", dist, conns, rr.rps/b.rps)
			if rr.cpuPerReq > 0 && b.cpuPerReq > 0 {
				fmt.Printf(", server CPU per request = %.2f", float64(rr.cpuPerReq)/float64(b.cpuPerReq))
				if rr.clientCPU > 0 && b.clientCPU > 0 {
					client := (rr.clientCPU + b.clientCPU) / 2
					fmt.Printf(", CPU-bound ratio = %.2f", float64(client+b.cpuPerReq)/float64(client+rr.cpuPerReq))
				}
			}
			if rr.hitRatio >= 0 {
				fmt.Printf(", cache hit ratio %.3f", rr.hitRatio)
			}
			fmt.Println()
		}
	}
	// Last: listing loads every secret today, which would inflate the RSS
	// figures of the reads.
	list, err := listLatency(ctx, sm, 3)
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	fmt.Printf("ListSecrets (first page of 100) median of 3: %s, RSS after %.0f MiB, load %s\n", list, rssMiB(r.PID()), loadAvg())
	return nil
}
