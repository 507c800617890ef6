// Command replicas measures Rotor on PostgreSQL with several servers
// (replicas) on one database, beside references run in the same
// invocation on the same machine:
//
//	go run ./bench/replicas [-duration 5s] [-conns 32] [-replicas 3] [-writers 8] [-rotations 100]
//
// Three measurements:
//
//   - reads: GetSecretValue (SigV4 verified on every request, value
//     decrypted, audit log written) with -conns connections spread over 1,
//     2, ... -replicas replicas, each figure beside the bare net/http
//     ceiling (a handler that reads the body and writes a response of the
//     same size) and beside one SQLite server, the embedded default;
//   - writes: PutSecretValue through the real SDK by -writers writers,
//     each on its own secret, into one SQLite server, one replica on
//     PostgreSQL, and all replicas;
//   - rotations: -rotations secrets with the built-in rotor-generate-password
//     function, all rotated at once, until every run has succeeded, on
//     SQLite and on the replicas.
//
// One more replica answers reads from its caches at once
// (cache.read_your_writes = false), to show what the read barrier costs.
//
// The replicas share a fresh database on the PostgreSQL server of
// $ROTOR_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres,
// which must be allowed to create databases); it is dropped at the end.
// Every server is a child process of this one, the load generator, so
// client, servers and PostgreSQL share the machine's cores: on a small
// machine more replicas add no CPU and are not expected to be faster.
// Server CPU per request (user + system of every server process, from
// /proc) is printed beside the throughput; it moves much less than
// throughput on a busy machine.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/bench/internal/awsreq"
	"github.com/rotorhq/rotor/bench/internal/serverproc"
)

const region = "us-east-1"

func main() {
	bare := flag.Bool("bare", false, "internal: serve the bare reference handler and print its URL")
	duration := flag.Duration("duration", 5*time.Second, "measurement time of each read and write run")
	warmup := flag.Duration("warmup", time.Second, "warm-up time before each read run")
	conns := flag.Int("conns", 32, "connections of the read load")
	replicas := flag.Int("replicas", 3, "replicas on PostgreSQL")
	writers := flag.Int("writers", 8, "concurrent writers")
	rotations := flag.Int("rotations", 100, "secrets rotated at once")
	valueSize := flag.Int("value-size", 256, "size in bytes of the secret value")
	flag.Parse()
	if *bare {
		serveBare()
		return
	}
	b := &bench{duration: *duration, warmup: *warmup, conns: *conns, replicas: *replicas, writers: *writers,
		rotations: *rotations, value: strings.Repeat("v", *valueSize)}
	if err := b.run(); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

type bench struct {
	duration, warmup                    time.Duration
	conns, replicas, writers, rotations int
	value                               string

	tmp, bin string
	keyFile  string
	id, key  string // the admin key of the PostgreSQL database
}

// node is one rotor server process.
type node struct {
	name  string
	child *serverproc.Child
}

func (b *bench) run() error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "rotor-replicas"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	b.bin = filepath.Join(b.tmp, "rotor")
	if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/rotor").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/rotor (run from the repository root): %v\n%s", err, out)
	}
	dbURL, drop, err := createDatabase()
	if err != nil {
		return err
	}
	defer drop()

	// SQLite: one server, the embedded default.
	lite, liteID, liteKey, err := b.start("sqlite", "")
	if err != nil {
		return err
	}
	defer lite.child.Stop()
	// PostgreSQL: the first replica makes the key file and the admin; the
	// others start with that key file.
	b.keyFile = filepath.Join(b.tmp, "kek.json")
	first, id, key, err := b.start("pg-1", dbURL)
	if err != nil {
		return err
	}
	b.id, b.key = id, key
	nodes := []*node{first}
	defer func() {
		for _, n := range nodes {
			n.child.Stop()
		}
	}()
	for i := 2; i <= b.replicas; i++ {
		n, _, _, err := b.start("pg-"+strconv.Itoa(i), dbURL)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	// One more replica that answers from its caches at once
	// (cache.read_your_writes = false), to show what waiting costs.
	relaxed, _, _, err := b.start("pg-relaxed", dbURL, "[cache]", "read_your_writes = false")
	if err != nil {
		return err
	}
	defer relaxed.child.Stop()
	bare, err := startBare()
	if err != nil {
		return err
	}
	defer bare.Stop()

	fmt.Printf("%d replicas on one PostgreSQL database; 1 SQLite server; all on this machine's %d cores with the load generator and PostgreSQL\n",
		b.replicas, numCPU())
	if err := b.reads(lite, liteID, liteKey, nodes, relaxed, bare); err != nil {
		return err
	}
	if err := b.writes(lite, liteID, liteKey, nodes); err != nil {
		return err
	}
	return b.rotate(lite, liteID, liteKey, nodes)
}

// start runs a rotor server named name on a data directory of its own, on
// dbURL ("" = SQLite in the data directory), and returns it with the admin
// key written in its data directory (none for a replica that did not
// create the admin).
func (b *bench) start(name, dbURL string, config ...string) (*node, string, string, error) {
	dir := filepath.Join(b.tmp, name)
	// Unlabeled versions are pruned at once: the write runs make many.
	args := []string{"server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn", "--prune-min-age", "0s"}
	if dbURL != "" {
		args = append(args, "--store", dbURL, "--key-file", b.keyFile)
	}
	if len(config) > 0 {
		file := filepath.Join(b.tmp, name+".toml")
		if err := os.WriteFile(file, []byte(strings.Join(config, "\n")+"\n"), 0o600); err != nil {
			return nil, "", "", err
		}
		args = append(args, "--config", file)
	}
	c, err := serverproc.Start(exec.Command(b.bin, args...))
	if err != nil {
		return nil, "", "", fmt.Errorf("start %s: %w", name, err)
	}
	id, key, _ := serverproc.ReadCredentials(filepath.Join(dir, "credentials"))
	return &node{name: name, child: c}, id, key, nil
}

func (b *bench) client(url, id, key string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(id, key, ""), RetryMaxAttempts: 1})
}

// reads measures GetSecretValue through 1..replicas replicas and through
// the SQLite server, each beside the bare ceiling.
func (b *bench) reads(lite *node, liteID, liteKey string, nodes []*node, relaxed *node, bare *serverproc.Child) error {
	ctx := context.Background()
	body := []byte(`{"SecretId":"bench/read"}`)
	if _, err := b.client(lite.child.URL, liteID, liteKey).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("bench/read"), SecretString: aws.String(b.value)}); err != nil {
		return err
	}
	if _, err := b.client(nodes[0].child.URL, b.id, b.key).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("bench/read"), SecretString: aws.String(b.value)}); err != nil {
		return err
	}
	liteReq, size, err := signed(lite.child.URL, body, liteID, liteKey)
	if err != nil {
		return err
	}
	var pgReqs []target
	for _, n := range nodes {
		r, _, err := signed(n.child.URL, body, b.id, b.key)
		if err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
		pgReqs = append(pgReqs, r)
	}
	bareReq := target{url: bare.URL, header: liteReq.header, body: body, pids: []int{bare.PID()}}
	if err := setBareSize(bare.URL, size); err != nil {
		return err
	}
	liteReq.pids = []int{lite.child.PID()}

	fmt.Printf("\nGetSecretValue, %d-byte value, %d connections, %s per run after %s warm-up\n", len(b.value), b.conns, b.duration, b.warmup)
	fmt.Printf("%-22s %10s %9s %9s %10s %10s\n", "server", "req/s", "p50", "p99", "cpu/req", "/bare")
	type row struct {
		name string
		ts   []target
	}
	rows := []row{{"bare net/http", []target{bareReq}}, {"sqlite, 1 server", []target{liteReq}}}
	for k := 1; k <= len(nodes); k++ {
		ts := slices.Clone(pgReqs[:k])
		pids := append(allPIDs(nodes), relaxed.child.PID())
		for i := range ts {
			ts[i].pids = pids // every replica's CPU counts, idle ones too
		}
		rows = append(rows, row{fmt.Sprintf("postgres, %d replica(s)", k), ts})
	}
	rel, _, err := signed(relaxed.child.URL, body, b.id, b.key)
	if err != nil {
		return err
	}
	rel.pids = append(allPIDs(nodes), relaxed.child.PID())
	rows = append(rows, row{"postgres, 1, relaxed", []target{rel}})
	var bareRPS float64
	for _, r := range rows {
		res := load(r.ts, b.conns, b.warmup, b.duration)
		if res.errors > 0 {
			return fmt.Errorf("%s: %d errors (%s)", r.name, res.errors, res.firstErr)
		}
		if bareRPS == 0 {
			bareRPS = res.rps
		}
		fmt.Printf("%-22s %10.0f %9s %9s %10s %10.2f\n", r.name, res.rps, res.p50, res.p99, res.cpuText(), res.rps/bareRPS)
	}
	return nil
}

// writes measures PutSecretValue throughput.
func (b *bench) writes(lite *node, liteID, liteKey string, nodes []*node) error {
	fmt.Printf("\nPutSecretValue through the SDK, %d writers each on its own secret, %s per run\n", b.writers, b.duration)
	fmt.Printf("%-22s %10s %9s %9s\n", "server", "writes/s", "p50", "p99")
	type row struct {
		name    string
		clients []*secretsmanager.Client
		prefix  string
	}
	var all []*secretsmanager.Client
	for _, n := range nodes {
		all = append(all, b.client(n.child.URL, b.id, b.key))
	}
	rows := []row{
		{"sqlite, 1 server", []*secretsmanager.Client{b.client(lite.child.URL, liteID, liteKey)}, "w-lite"},
		{"postgres, 1 replica", all[:1], "w-pg1"},
		{fmt.Sprintf("postgres, %d replicas", len(all)), all, "w-pgN"},
	}
	for _, r := range rows {
		res, err := b.writeLoad(r.clients, r.prefix)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Printf("%-22s %10.0f %9s %9s\n", r.name, res.rps, res.p50, res.p99)
	}
	return nil
}

// writeLoad runs b.writers writers, writer i on secret prefix/i through
// clients[i % len(clients)], for b.duration.
func (b *bench) writeLoad(clients []*secretsmanager.Client, prefix string) (result, error) {
	ctx := context.Background()
	for i := range b.writers {
		c := clients[i%len(clients)]
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("%s/%d", prefix, i)),
			SecretString: aws.String(b.value)}); err != nil {
			return result{}, err
		}
	}
	var (
		stop  atomic.Bool
		count atomic.Int64
		mu    sync.Mutex
		lat   []time.Duration
		first error
		wg    sync.WaitGroup
	)
	for i := range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, name := clients[i%len(clients)], fmt.Sprintf("%s/%d", prefix, i)
			var local []time.Duration
			for !stop.Load() {
				t0 := time.Now()
				_, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
					SecretString: aws.String(b.value), ClientRequestToken: aws.String(uuid.NewString())})
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				local = append(local, time.Since(t0))
				count.Add(1)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	time.Sleep(b.duration)
	stop.Store(true)
	wg.Wait()
	if first != nil {
		return result{}, first
	}
	return summarize(lat, count.Load(), time.Since(t0)), nil
}

// rotate measures how long b.rotations rotations, all started at once,
// take to succeed.
func (b *bench) rotate(lite *node, liteID, liteKey string, nodes []*node) error {
	fmt.Printf("\n%d rotations with rotor-generate-password started at once, until every run succeeded\n", b.rotations)
	fmt.Printf("%-22s %10s %12s\n", "server", "time", "rotations/s")
	var all []*node
	all = append(all, nodes...)
	for _, r := range []struct {
		name    string
		nodes   []*node
		id, key string
	}{
		{"sqlite, 1 server", []*node{lite}, liteID, liteKey},
		{"postgres, 1 replica", nodes[:1], b.id, b.key},
		{fmt.Sprintf("postgres, %d replicas", len(all)), all, b.id, b.key},
	} {
		d, err := b.rotateOn(r.nodes, r.id, r.key, r.name)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Printf("%-22s %10s %12.1f\n", r.name, d.Round(time.Millisecond), float64(b.rotations)/d.Seconds())
	}
	return nil
}

// rotateOn creates b.rotations secrets, rotates them all through nodes
// (round robin) and waits until each has a succeeded run. With more than
// one node, the others stay up and take part through the shared engine.
func (b *bench) rotateOn(nodes []*node, id, key, tag string) (time.Duration, error) {
	ctx := context.Background()
	prefix := "rot-" + strings.NewReplacer(" ", "", ",", "", "(", "", ")", "").Replace(tag)
	clients := make([]*secretsmanager.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = b.client(n.child.URL, id, key)
	}
	names := make([]string, b.rotations)
	for i := range names {
		names[i] = fmt.Sprintf("%s/%04d", prefix, i)
		if _, err := clients[0].CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(names[i]),
			SecretString: aws.String(`{"username":"u","password":"p"}`)}); err != nil {
			return 0, err
		}
	}
	fn := "arn:aws:lambda:" + region + ":000000000000:function:rotor-generate-password"
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := clients[i%len(clients)].RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name),
				RotationLambdaARN: aws.String(fn)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	for {
		n, err := b.succeeded(nodes[0].child.URL, id, key, prefix)
		if err != nil {
			return 0, err
		}
		if n >= len(names) {
			return time.Since(t0), nil
		}
		if time.Since(t0) > 10*time.Minute {
			return 0, fmt.Errorf("%d of %d rotations succeeded after 10 minutes", n, len(names))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var succeededRE = regexp.MustCompile(`"SecretARN":\s*"[^"]*:secret:(rot-[^"]*)-[A-Za-z0-9]{6}"`)

// succeeded counts the succeeded runs of the secrets under prefix, with
// the rotor CLI.
func (b *bench) succeeded(url, id, key, prefix string) (int, error) {
	cmd := exec.Command(b.bin, "rotation", "list", "--status", "succeeded", "--limit", "1000", "--output", "json", "--endpoint", url)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+key, "AWS_REGION="+region,
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_CONFIG_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`"Runs"`)) {
		return 0, fmt.Errorf("rotation list: %v: %s", err, out)
	}
	n := 0
	for _, m := range succeededRE.FindAllStringSubmatch(string(out), -1) {
		if strings.HasPrefix(m[1], prefix+"/") {
			n++
		}
	}
	return n, nil
}

// createDatabase creates a fresh database on the test PostgreSQL server
// and returns its URL and a function that drops it.
func createDatabase() (string, func(), error) {
	admin := os.Getenv("ROTOR_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL ($ROTOR_TEST_POSTGRES_URL): %w", err)
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	name := "rotor_bench_" + hex.EncodeToString(suffix[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" ENCODING 'UTF8' TEMPLATE template0"); err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String(), func() {
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}, nil
}

// startBare starts this program as the bare reference server.
func startBare() (*serverproc.Child, error) {
	cmd := exec.Command(os.Args[0], "-bare")
	cmd.Env = append(os.Environ(), "GOGC=400")
	return serverproc.Start(cmd)
}

// setBareSize makes the bare server answer size bytes from now on.
func setBareSize(url string, size int) error {
	req, _ := http.NewRequest(http.MethodPost, url+"/", nil)
	req.Header.Set("X-Bare-Size", strconv.Itoa(size))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// serveBare is the reference: net/http, read the body, write a fixed
// response of a GetSecretValue's size (set once by a request carrying
// X-Bare-Size, see setBareSize).
func serveBare() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("bare serving at http://%s\n", ln.Addr())
	var resp atomic.Pointer[[]byte]
	empty := []byte{}
	resp.Store(&empty)
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if s := r.Header.Get("X-Bare-Size"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 1<<20 {
				b := bytes.Repeat([]byte("x"), n)
				resp.Store(&b)
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(*resp.Load())
	}))
}

// target is one server and the signed request it is sent.
type target struct {
	url    string
	header http.Header
	body   []byte
	pids   []int // processes whose CPU time counts
}

// signed signs a GetSecretValue for url once (replayed for 15 minutes)
// and returns it with the size of the real response.
func signed(url string, body []byte, id, secret string) (target, int, error) {
	ctx := context.Background()
	req, err := awsreq.Signed(ctx, url, "secretsmanager.GetSecretValue", body,
		aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, "secretsmanager", region, time.Now())
	if err != nil {
		return target{}, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return target{}, 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return target{}, 0, fmt.Errorf("signed GetSecretValue answered %d: %s", resp.StatusCode, data)
	}
	return target{url: url, header: req.Header.Clone(), body: body}, len(data), nil
}

func allPIDs(nodes []*node) []int {
	var out []int
	for _, n := range nodes {
		out = append(out, n.child.PID())
	}
	return out
}

type result struct {
	rps       float64
	p50, p99  time.Duration
	cpuPerReq time.Duration
	errors    int64
	firstErr  string
}

func (r result) cpuText() string {
	if r.cpuPerReq <= 0 {
		return "n/a"
	}
	return r.cpuPerReq.Round(100 * time.Nanosecond).String()
}

func summarize(lat []time.Duration, n int64, elapsed time.Duration) result {
	slices.Sort(lat)
	r := result{rps: float64(n) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)*50/100].Round(time.Microsecond)
		r.p99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	return r
}

// load runs n connections, connection i sending ts[i % len(ts)]'s request
// in a loop, for warmup + duration, and measures the duration part.
func load(ts []target, n int, warmup, duration time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var (
		measuring, stop atomic.Bool
		count, errs     atomic.Int64
		firstErr        atomic.Value
		mu              sync.Mutex
		lat             []time.Duration
		wg              sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := ts[i%len(ts)]
			local := make([]time.Duration, 0, 1<<14)
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodPost, t.url+"/", bytes.NewReader(t.body))
				req.Header = t.header.Clone()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				count.Add(1)
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	pids := map[int]bool{}
	for _, t := range ts {
		for _, p := range t.pids {
			pids[p] = true
		}
	}
	cpu0 := cpuOf(pids)
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(t0)
	cpu1 := cpuOf(pids)
	stop.Store(true)
	wg.Wait()
	r := summarize(lat, count.Load(), elapsed)
	r.errors = errs.Load()
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	if c := count.Load(); c > 0 && cpu0 >= 0 && cpu1 >= 0 {
		r.cpuPerReq = (cpu1 - cpu0) / time.Duration(c)
	}
	return r
}

// cpuOf returns the user + system CPU time of the processes; -1 where that
// is not available.
func cpuOf(pids map[int]bool) time.Duration {
	var total time.Duration
	for pid := range pids {
		d, ok := serverproc.CPUTime(pid)
		if !ok {
			return -1
		}
		total += d
	}
	return total
}

func numCPU() int { return runtime.NumCPU() }
