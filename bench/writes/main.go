// Command writes measures acknowledged writes per second through the API —
// CreateSecret and PutSecretValue from concurrent aws-sdk-go-v2 clients
// against a rotor server (a child process; SQLite in WAL mode with
// synchronous=FULL) — against a reference measured in the same invocation:
// a bare SQLite loop that INSERTs one row per transaction into a file with
// the same settings, so each row costs one fsync of the WAL.
//
//	go run ./bench/writes [-clients 8] [-duration 5s] [-rounds 2] [-rotor path/to/rotor] [-data DIR] [-client presigned|sdk]
//
// The load generator shares the machine with the server. By default
// (-client presigned) it signs each phase's requests before the phase
// (SigV4, as the SDK signs them, each with its own ClientRequestToken) and
// only sends them during it, as bench/getsecret does for reads, so its CPU
// per write is a small constant (~70 µs) and the server verifies every
// signature as usual. -client sdk drives aws-sdk-go-v2 clients instead,
// whose middleware costs ~170 µs of CPU per write on the same cores.
//
// -data runs the server on an existing data directory (one that
// bench/getsecret -store built, say: DIR/data), to measure writes into a
// large store; the secrets written stay in it.
//
// Each client loops: CreateSecret of a new secret, then PutSecretValue of
// a new value to it; each counts as one write. The rounds alternate
// reference and rotor so both see the same machine load. The figure to
// compare is rotor writes/s ÷ reference inserts/s.
//
// Beside each rotor phase it prints where the time went: the server's and
// this program's (the clients') CPU per write, from /proc (Linux), and
// the writes each durable commit carried (group commit) and the share of
// the time the single SQLite writer was held, from the server's metrics
// on its debug listener.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/bench/internal/serverproc"
	_ "modernc.org/sqlite"
)

func main() {
	clients := flag.Int("clients", 8, "concurrent API clients")
	duration := flag.Duration("duration", 5*time.Second, "measured time of each phase")
	rounds := flag.Int("rounds", 2, "alternating reference/rotor rounds")
	rotorBin := flag.String("rotor", "", "rotor binary (default: go build ./cmd/rotor)")
	data := flag.String("data", "", "existing data directory for the server, written to (default: a new one)")
	client := flag.String("client", "presigned", "load generator: presigned (requests signed before each phase) or sdk (aws-sdk-go-v2 clients)")
	flag.Parse()
	if *client != "presigned" && *client != "sdk" {
		fmt.Fprintln(os.Stderr, "writes: -client must be presigned or sdk")
		os.Exit(2)
	}
	if err := run(*clients, *duration, *rounds, *rotorBin, *data, *client == "sdk"); err != nil {
		fmt.Fprintln(os.Stderr, "writes:", err)
		os.Exit(1)
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(clients int, duration time.Duration, rounds int, rotorBin, dataDir string, useSDK bool) error {
	tmp, err := os.MkdirTemp("", "rotor-writes")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if rotorBin == "" {
		rotorBin = filepath.Join(tmp, "rotor")
		if out, err := exec.Command("go", "build", "-o", rotorBin, "./cmd/rotor").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/rotor (run from the repository root): %v\n%s", err, out)
		}
	}
	if dataDir == "" {
		dataDir = filepath.Join(tmp, "data")
	}
	debugAddr, err := serverproc.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	debugBase := "http://" + debugAddr
	srv, err := serverproc.Start(exec.Command(rotorBin, "server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn", "--debug-listen", debugAddr))
	if err != nil {
		return err
	}
	defer srv.Stop()
	id, secret, err := serverproc.ReadCredentials(filepath.Join(dataDir, "credentials"))
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})

	how := "requests signed before each phase"
	if useSDK {
		how = "aws-sdk-go-v2 clients"
	}
	fmt.Printf("%d clients (CreateSecret + PutSecretValue, 64-byte values; %s) vs a bare SQLite INSERT+fsync loop; %s per phase\n", clients, how, duration)
	fmt.Printf("%-6s %-10s %12s %10s %10s  %-16s %s\n", "round", "phase", "writes/s", "p50", "p99", "load average", "CPU/write server, clients; writes/commit; writer busy")
	var sumRatio float64
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	for r := 1; r <= rounds; r++ {
		bare, err := bareLoop(filepath.Join(tmp, fmt.Sprintf("bare-%d.db", r)), duration)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %-10s %12.1f %10s %10s  %s\n", r, "reference", bare, "", "", loadavg())
		var res apiResult
		var spent spent
		if useSDK {
			before := sample(srv.PID(), debugBase)
			res, err = apiLoad(sm, clients, duration, runID, r)
			spent = sample(srv.PID(), debugBase).since(before)
		} else {
			// Enough pairs for the reference's rate and a half.
			pairs := max(1000, int(bare*1.5*duration.Seconds())/2/clients)
			var reqs [][]signedReq
			reqs, err = presignWrites(srv.URL, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, runID, r, clients, pairs)
			if err != nil {
				return err
			}
			before := sample(srv.PID(), debugBase)
			res, err = presignedLoad(srv.URL, reqs, duration)
			spent = sample(srv.PID(), debugBase).since(before)
		}
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %-10s %12.1f %10s %10s  %-16s %s\n", r, "rotor", res.rate, res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), loadavg(), spent)
		fmt.Printf("%-6d ratio rotor/reference = %.2f\n", r, res.rate/bare)
		sumRatio += res.rate / bare
	}
	fmt.Printf("mean ratio = %.2f\n", sumRatio/float64(rounds))
	return nil
}

// bareLoop inserts rows one transaction at a time for d and returns rows/s.
func bareLoop(path string, d time.Duration) (float64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, v BLOB NOT NULL)"); err != nil {
		return 0, err
	}
	var mode, sync string
	db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	db.QueryRow("PRAGMA synchronous").Scan(&sync)
	if mode != "wal" || sync != "2" {
		return 0, fmt.Errorf("bare database: journal_mode=%s synchronous=%s, want wal and 2 (FULL)", mode, sync)
	}
	v := make([]byte, 256)
	n := 0
	t0 := time.Now()
	for time.Since(t0) < d {
		if _, err := db.Exec("INSERT INTO t (name, v) VALUES (?, ?)", fmt.Sprint("row-", n), v); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// counters is what the server and this process had used at one moment.
type counters struct {
	server, clients  time.Duration // CPU time
	cpuOK            bool
	commits, updates float64 // the store's durable commits and the writes they carried
	writerBusy       float64 // seconds the single writer was held
	commitsOK        bool
	at               time.Time
}

func sample(serverPID int, debugBase string) counters {
	var c counters
	var ok1, ok2 bool
	c.server, ok1 = serverproc.CPUTime(serverPID)
	c.clients, ok2 = serverproc.CPUTime(os.Getpid())
	c.cpuOK = ok1 && ok2
	v, ok := serverproc.Scrape(debugBase, "rotor_store_commits_total", "rotor_store_updates_total", "rotor_store_writer_busy_seconds_total")
	c.commits, c.updates, c.writerBusy, c.commitsOK = v[0], v[1], v[2], ok
	c.at = time.Now()
	return c
}

// spent is the difference of two samples, printed per write.
type spent struct{ cur, prev counters }

func (c counters) since(prev counters) spent { return spent{c, prev} }

func (s spent) String() string {
	writes := s.cur.updates - s.prev.updates
	if !s.cur.commitsOK || !s.prev.commitsOK || writes <= 0 {
		return "n/a"
	}
	out := ""
	if s.cur.cpuOK && s.prev.cpuOK {
		per := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/writes) }
		out = per(s.cur.server-s.prev.server) + ", " + per(s.cur.clients-s.prev.clients) + "; "
	}
	busy := (s.cur.writerBusy - s.prev.writerBusy) / s.cur.at.Sub(s.prev.at).Seconds()
	return out + fmt.Sprintf("%.1f; writer busy %.0f%%", writes/(s.cur.commits-s.prev.commits), 100*busy)
}

type apiResult struct {
	rate     float64
	p50, p99 time.Duration
}

// apiLoad runs clients loops of CreateSecret + PutSecretValue for d.
// Names start with run, which differs between invocations, so that one
// may write into a store another one wrote.
func apiLoad(sm *secretsmanager.Client, clients int, d time.Duration, run string, round int) (apiResult, error) {
	ctx := context.Background()
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Go(func() {
			var mine []time.Duration
			defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
			for i := 0; time.Now().Before(stop); i++ {
				name := fmt.Sprintf("bench/%s/r%d/c%d/s%d", run, round, c, i)
				t := time.Now()
				if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(strings.Repeat("a", 64))}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				mine = append(mine, time.Since(t))
				n.Add(1)
				t = time.Now()
				if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(strings.Repeat("b", 64))}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				mine = append(mine, time.Since(t))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return summarize(n.Load(), lat, time.Since(t0), &firstErr)
}

// summarize is the result of a phase that made writes acknowledged
// writes with latencies lat in elapsed, or the first error it met.
func summarize(writes int64, lat []time.Duration, elapsed time.Duration, firstErr *atomic.Value) (apiResult, error) {
	if err, _ := firstErr.Load().(error); err != nil {
		return apiResult{}, err
	}
	if len(lat) == 0 {
		return apiResult{}, fmt.Errorf("no write completed")
	}
	slices.Sort(lat)
	return apiResult{rate: float64(writes) / elapsed.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}
