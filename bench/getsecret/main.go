// Command getsecret measures GetSecretValue throughput and latency through
// Rotor's full stack — HTTP, SigV4 verification on every request, the
// manager, decryption, LastAccessedDate bookkeeping — beside a bare net/http
// handler measured in the same run on the same machine, and prints the ratio.
//
//	go run ./bench/getsecret [-duration 5s] [-conns 1,32] [-audit on|off|both] [-policies]
//	go run ./bench/getsecret -secrets 100000 [-dist uniform,zipf] [-store DIR] [-gogc 400] [-gomemlimit off]
//
// With -secrets N > 1 (scale mode, see scale.go) N secrets are built
// through the store and one rotor server (audit on unless -audit off) is
// measured with reads spread over them by each distribution of -dist.
//
// -cpuprofile fetches each rotor server's CPU profile over the runs from
// its debug listener (debug_listen, net/http/pprof).
//
// With -policies the request is signed by an identity without a role whose
// rights come from a 20-statement identity policy, and the secret has a
// 10-statement resource policy, so every request is authorized by
// evaluating both (the matching Allow last, after every Deny).
//
// Both servers run as child processes; this process is the load generator.
// It signs one GetSecretValue request with SigV4 and replays it (a signature
// stays valid for 15 minutes), so client-side cost is the same small
// constant for both servers and the server does the full verification on
// every request. The bare handler reads the body and answers a response of
// the same size, so the ratio is "how much of the machine's HTTP ceiling
// Rotor keeps".
//
// On Linux it also reports each server's CPU time per request (user +
// system, from /proc/<pid>/stat over the measured interval), and the load
// generator's own. On a busy machine throughput and latency swing with
// whatever else runs, while CPU per request moves much less, so those are
// the figures to compare between runs. From them it derives the ratio the
// two servers would reach on a machine that only runs this benchmark and
// is CPU-bound (client and server share the cores): (client + bare) /
// (client + rotor) CPU per request.
//
// -audit chooses the rotor servers measured: "on" (the default
// configuration: every request written to the audit log), "off"
// (--audit off), or "both" (two rotor servers, each measured against the
// same bare server, so the audit log's cost shows as the difference of
// the two ratios).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/bench/internal/awsreq"
	"github.com/rotorhq/rotor/bench/internal/serverproc"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

func main() {
	bare := flag.Bool("bare", false, "internal: serve the bare reference handler and print its URL")
	duration := flag.Duration("duration", 5*time.Second, "measurement time per server and connection count")
	warmup := flag.Duration("warmup", time.Second, "warm-up time before each measurement")
	connList := flag.String("conns", "1,32", "comma-separated connection counts")
	rotorBin := flag.String("rotor", "", "rotor binary (default: go build ./cmd/rotor)")
	valueSize := flag.Int("value-size", 256, "size in bytes of the secret value")
	profile := flag.String("cpuprofile", "", "write the rotor server's CPU profile to this file, and the bare server's to this file + \".bare\"")
	policies := flag.Bool("policies", false, "sign as an identity with a 20-statement identity policy and give the secret a 10-statement resource policy")
	auditMode := flag.String("audit", "both", "rotor servers to measure: on (audit log written), off (--audit off) or both; with -secrets > 1, one server, audit on unless off")
	flag.IntVar(&scale.secrets, "secrets", 1, "number of secrets; above 1, they are built through the store and reads spread over them")
	flag.StringVar(&scale.dists, "dist", "uniform,zipf", "with -secrets > 1: comma-separated read distributions, uniform or zipf (s = 1.1)")
	flag.IntVar(&scale.presign, "presign", 100000, "with -secrets > 1: requests drawn and signed ahead per distribution, at least 4 × -secrets up to 2,000,000 (replayed in a cycle)")
	flag.Int64Var(&scale.cacheBytes, "cache-bytes", manager.DefaultCacheMaxBytes(), "the server's cache.max_bytes (default: the server's default on this machine, a quarter of its memory within 64 MiB to 1 GiB); both servers get GOGC=400 and GOMEMLIMIT = this + 96 MiB")
	flag.Int64Var(&scale.mmapBytes, "db-mmap-bytes", 0, "the server's database.mmap_bytes (0 = off)")
	flag.StringVar(&scale.storeDir, "store", "", "with -secrets > 1: keep the store in this directory and reuse it on later runs with the same -secrets and -value-size")
	flag.BoolVar(&scale.premigrate, "premigrate", true, "with -store: migrate a reused store before starting the server (false for a server older than this program)")
	flag.BoolVar(&scale.preload, "preload", true, "with -secrets > 1: the server preloads its cache at start (cache.preload; false for a server older than this program), and the bench waits for it before measuring")
	flag.StringVar(&scale.gogc, "gogc", "400", "GOGC of both servers (the rotor server's default is 400)")
	flag.StringVar(&scale.memlimit, "gomemlimit", "", "GOMEMLIMIT of both servers (\"off\" for none; default: the rotor server's, -cache-bytes + 96 MiB)")
	flag.Parse()
	if *bare {
		serveBare()
		return
	}
	if err := run(*duration, *warmup, *connList, *rotorBin, *valueSize, *profile, *auditMode, *policies); err != nil {
		fmt.Fprintln(os.Stderr, "getsecret:", err)
		os.Exit(1)
	}
}

// scale holds the flags of a run over many secrets.
var scale struct {
	secrets    int
	dists      string
	presign    int
	cacheBytes int64
	mmapBytes  int64
	storeDir   string
	premigrate bool
	preload    bool
	gogc       string
	memlimit   string
}

// gcEnv is the GC settings both servers run under: the rotor server's
// defaults (cmd/rotor/memory.go), set explicitly so the bare reference
// gets the same.
func gcEnv() []string {
	limit := scale.memlimit
	if limit == "" {
		limit = strconv.FormatInt(scale.cacheBytes+96<<20, 10)
	}
	return []string{"GOGC=" + scale.gogc, "GOMEMLIMIT=" + limit}
}

// serveBare is the reference: net/http, read the body, write a fixed
// response of a GetSecretValue's size.
func serveBare() {
	size, _ := strconv.Atoi(os.Getenv("BARE_RESPONSE_SIZE"))
	resp := bytes.Repeat([]byte("x"), size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if path := os.Getenv("BARE_CPU_PROFILE"); path != "" {
		// Profile until stopped, for comparison with the rotor server's.
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		go func() {
			<-stop
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	fmt.Printf("bare serving at http://%s\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(resp)
	}))
}

// rotorServer is one rotor server under test and its signed request.
type rotorServer struct {
	name      string
	child     *serverproc.Child
	header    http.Header
	debugAddr string // its debug (pprof) listener
}

// rotorArgs are the arguments of a rotor server on dataDir: the benchmark's
// cache and mmap settings, its debug listener on debugAddr, and the audit
// log on or off.
func rotorArgs(dataDir, debugAddr string, audit bool) []string {
	args := []string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn",
		"--cache-max-bytes", strconv.FormatInt(scale.cacheBytes, 10), "--debug-listen", debugAddr,
		"--db-mmap-bytes", strconv.FormatInt(scale.mmapBytes, 10)}
	if !scale.preload {
		args = append(args, "--cache-preload", "off")
	}
	if !audit {
		args = append(args, "--audit", "off")
	}
	return args
}

// startRotor starts a rotor server on a fresh data directory under tmp,
// creates the secret and signs a GetSecretValue for replay.
func startRotor(tmp, rotorBin, name string, audit, policies bool, value string, body []byte) (*rotorServer, int, error) {
	dataDir := filepath.Join(tmp, name)
	debugAddr, err := serverproc.FreeLoopbackAddr()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(rotorBin, rotorArgs(dataDir, debugAddr, audit)...)
	cmd.Env = append(os.Environ(), gcEnv()...)
	c, err := serverproc.Start(cmd)
	if err != nil {
		return nil, 0, err
	}
	id, secret, err := serverproc.ReadCredentials(filepath.Join(dataDir, "credentials"))
	if err != nil {
		c.Stop()
		return nil, 0, err
	}
	// Set up one secret with the SDK, then sign a GetSecretValue for replay.
	ctx := context.Background()
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.URL),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bench/secret"), SecretString: aws.String(value)}); err != nil {
		c.Stop()
		return nil, 0, fmt.Errorf("create secret: %w", err)
	}
	if policies {
		if id, secret, err = attachPolicies(ctx, rotorBin, c.URL, dataDir, id, secret); err != nil {
			c.Stop()
			return nil, 0, err
		}
	}
	req, respSize, err := signedRequest(ctx, c.URL, body, id, secret)
	if err != nil {
		c.Stop()
		return nil, 0, err
	}
	return &rotorServer{name: name, child: c, header: req, debugAddr: debugAddr}, respSize, nil
}

func run(duration, warmup time.Duration, connList, rotorBin string, valueSize int, profile, auditMode string, policies bool) error {
	var modes []bool // audit on?
	switch auditMode {
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	case "both":
		modes = []bool{true, false}
	default:
		return fmt.Errorf("-audit %q must be on, off or both", auditMode)
	}
	tmp, err := os.MkdirTemp("", "rotor-bench")
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
	if scale.secrets > 1 {
		if policies {
			return fmt.Errorf("-policies is not supported with -secrets > 1")
		}
		return startScale(tmp, rotorBin, auditMode != "off", duration, warmup, connList, valueSize, profile)
	}
	value := strings.Repeat("v", valueSize)
	body := []byte(`{"SecretId":"bench/secret"}`)
	var rotors []*rotorServer
	respSize := 0
	for _, audit := range modes {
		name := "rotor+audit"
		if !audit {
			name = "rotor-noaudit"
		}
		r, size, err := startRotor(tmp, rotorBin, name, audit, policies, value, body)
		if err != nil {
			return err
		}
		defer r.child.Stop()
		rotors = append(rotors, r)
		respSize = size
	}

	bareCmd := exec.Command(os.Args[0], "-bare")
	bareCmd.Env = append(append(os.Environ(), gcEnv()...), "BARE_RESPONSE_SIZE="+strconv.Itoa(respSize))
	if profile != "" {
		bareCmd.Env = append(bareCmd.Env, "BARE_CPU_PROFILE="+profile+".bare")
	}
	bare, err := serverproc.Start(bareCmd)
	if err != nil {
		return err
	}
	defer bare.Stop()
	if profile != "" {
		// Each rotor server's profile comes from its debug listener and
		// covers every run (the bare server's and the other rotor's too).
		runs := len(strings.Split(connList, ","))
		for _, r := range rotors {
			path := profile
			if !strings.HasSuffix(r.name, "+audit") && len(rotors) > 1 {
				path = profile + ".noaudit"
			}
			wait := fetchProfile("http://"+r.debugAddr, path, time.Duration((1+len(rotors))*runs)*(warmup+duration))
			defer wait()
		}
	}

	fmt.Printf("GetSecretValue, %d-byte value, %s per run after %s warm-up, GOMAXPROCS of each server = %d cores\n",
		valueSize, duration, warmup, numCPU())
	fmt.Printf("%-6s %-14s %12s %10s %10s %12s\n", "conns", "server", "req/s", "p50", "p99", "cpu/req")
	for i, s := range strings.Split(connList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -conns entry %q", s)
		}
		// Alternate the order so neither server always runs on a warmer machine.
		order := append([]*rotorServer{nil}, rotors...) // nil = bare
		if i%2 == 1 {
			slices.Reverse(order)
		}
		results := map[*rotorServer]result{}
		for _, srv := range order {
			if srv == nil {
				results[nil] = load(bare.URL, bare.PID(), []signedReq{{header: rotors[0].header, body: body}}, n, warmup, duration, "")
			} else {
				results[srv] = load(srv.child.URL, srv.child.PID(), []signedReq{{header: srv.header, body: body}}, n, warmup, duration, "")
			}
		}
		b := results[nil]
		if b.errors > 0 {
			return fmt.Errorf("errors during load: bare %d (%s)", b.errors, b.firstErr)
		}
		fmt.Printf("%-6d %-14s %12.0f %10s %10s %12s\n", n, "bare", b.rps, b.p50, b.p99, b.cpuText())
		for _, srv := range rotors {
			r := results[srv]
			if r.errors > 0 {
				return fmt.Errorf("errors during load: %s %d (%s)", srv.name, r.errors, r.firstErr)
			}
			fmt.Printf("%-6d %-14s %12.0f %10s %10s %12s\n", n, srv.name, r.rps, r.p50, r.p99, r.cpuText())
		}
		for _, srv := range rotors {
			r := results[srv]
			fmt.Printf("%-6d %s/bare throughput = %.2f", n, srv.name, r.rps/b.rps)
			if r.cpuPerReq > 0 && b.cpuPerReq > 0 {
				fmt.Printf(", server CPU per request = %.2f", float64(r.cpuPerReq)/float64(b.cpuPerReq))
				if r.clientCPU > 0 && b.clientCPU > 0 {
					client := (r.clientCPU + b.clientCPU) / 2
					fmt.Printf("\n%-6d %s: client CPU per request %s; CPU-bound ratio (client+bare)/(client+rotor) = %.2f",
						n, srv.name, client.Round(100*time.Nanosecond), float64(client+b.cpuPerReq)/float64(client+r.cpuPerReq))
				}
			}
			fmt.Println()
		}
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }

// signedRequest signs a GetSecretValue request once and returns its headers
// and the size of the real response (for the bare handler to imitate).
func signedRequest(ctx context.Context, url string, body []byte, id, secret string) (http.Header, int, error) {
	req, err := awsreq.Signed(ctx, url, "secretsmanager.GetSecretValue", body,
		aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, "secretsmanager", "us-east-1", time.Now())
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, 0, fmt.Errorf("signed GetSecretValue answered %d: %s", resp.StatusCode, data)
	}
	return req.Header.Clone(), len(data), nil
}

type result struct {
	rps       float64
	p50, p99  time.Duration
	cpuPerReq time.Duration // server CPU time per request; 0 if unknown
	clientCPU time.Duration // this process's CPU time per request; 0 if unknown
	errors    int64
	firstErr  string
	hitRatio  float64 // the rotor server's cache hit ratio over the measured interval; -1 if unknown
}

func (r result) cpuText() string {
	if r.cpuPerReq <= 0 {
		return "n/a"
	}
	return r.cpuPerReq.Round(100 * time.Nanosecond).String()
}

// load runs n connections, each a loop over reqs, for warmup + duration
// and measures only the duration part. With debugBase (a rotor server's
// debug listener) it also reports the cache hit ratio over that part.
func load(url string, pid int, reqs []signedReq, n int, warmup, duration time.Duration, debugBase string) result {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		count     atomic.Int64
		next      atomic.Uint64
		errs      atomic.Int64
		firstErr  atomic.Value
		mu        sync.Mutex
		lat       []time.Duration
		wg        sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for !stop.Load() {
				sr := reqs[int(next.Add(1)%uint64(len(reqs)))]
				req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(sr.body))
				req.Header = sr.header.Clone()
				if sr.auth != "" {
					req.Header["Authorization"] = []string{sr.auth}
				}
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
	var hits0, misses0 float64
	countersOK := false
	if debugBase != "" {
		hits0, misses0, countersOK = cacheCounters(debugBase)
	}
	cpu0, cpuOK := serverproc.CPUTime(pid)
	self0, selfOK := serverproc.CPUTime(os.Getpid())
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(t0)
	cpu1, cpuOK1 := serverproc.CPUTime(pid)
	self1, selfOK1 := serverproc.CPUTime(os.Getpid())
	r := result{hitRatio: -1}
	if countersOK {
		if hits1, misses1, ok := cacheCounters(debugBase); ok && hits1+misses1 > hits0+misses0 {
			r.hitRatio = (hits1 - hits0) / (hits1 - hits0 + misses1 - misses0)
		}
	}
	stop.Store(true)
	wg.Wait()
	slices.Sort(lat)
	r.rps, r.errors = float64(count.Load())/elapsed.Seconds(), errs.Load()
	if n := count.Load(); cpuOK && cpuOK1 && n > 0 {
		r.cpuPerReq = (cpu1 - cpu0) / time.Duration(n)
	}
	if n := count.Load(); selfOK && selfOK1 && n > 0 {
		r.clientCPU = (self1 - self0) / time.Duration(n)
	}
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)*50/100].Round(time.Microsecond)
		r.p99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	return r
}

// benchIdentityPolicy has 20 statements: 6 Deny statements on other secrets
// and actions (every one is checked on every request, Deny coming first),
// 13 Allow statements on other secrets, and last the Allow that matches,
// with a condition.
func benchIdentityPolicy() string {
	var st []string
	for i := range 6 {
		st = append(st, fmt.Sprintf(`{"Sid":"Deny%d","Effect":"Deny","Action":["secretsmanager:DeleteSecret","secretsmanager:PutSecretValue"],`+
			`"Resource":"arn:aws:secretsmanager:*:*:secret:team%d/*"}`, i, i))
	}
	for i := range 13 {
		st = append(st, fmt.Sprintf(`{"Sid":"Allow%d","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],`+
			`"Resource":"arn:aws:secretsmanager:us-east-1:*:secret:app%d/*"}`, i, i))
	}
	st = append(st, `{"Sid":"Bench","Effect":"Allow","Action":"secretsmanager:GetSecretValue",`+
		`"Resource":"arn:aws:secretsmanager:us-east-1:*:secret:bench/*","Condition":{"StringEquals":{"aws:username":"bench"}}}`)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

// benchResourcePolicy has 10 statements: 5 Deny statements (one denies
// DescribeSecret to the bench user, which attachPolicies checks to prove
// the policy is in force) and 5 Allow statements naming other users.
func benchResourcePolicy() string {
	var st []string
	st = append(st, `{"Sid":"ProveInForce","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/bench"},`+
		`"Action":"secretsmanager:DescribeSecret","Resource":"*"}`)
	for i := range 4 {
		st = append(st, fmt.Sprintf(`{"Sid":"Deny%d","Effect":"Deny","Principal":"*","Action":"secretsmanager:DeleteSecret","Resource":"*",`+
			`"Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/owner%d"}}}`, i, i))
	}
	for i := range 5 {
		st = append(st, fmt.Sprintf(`{"Sid":"Allow%d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/reader%d"},`+
			`"Action":"secretsmanager:GetSecretValue","Resource":"*"}`, i, i))
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

// attachPolicies creates the identity "bench" without a role, gives it
// benchIdentityPolicy and an access key (through the rotor CLI, signed as
// the admin), stores benchResourcePolicy on bench/secret, checks both are
// in force, and returns the new key. The resource policy is written with
// secretsmanager:PutResourcePolicy when the server offers it, else straight
// into the store (WAL: the running server sees it; its cache holds no
// entry for the secret yet).
func attachPolicies(ctx context.Context, rotorBin, url, dataDir, adminID, adminSecret string) (string, string, error) {
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(rotorBin, append(args, "-endpoint", url, "-region", "us-east-1")...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+adminID, "AWS_SECRET_ACCESS_KEY="+adminSecret, "AWS_SESSION_TOKEN=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("rotor %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	docFile := filepath.Join(dataDir, "..", "bench-policy.json")
	if err := os.WriteFile(docFile, []byte(benchIdentityPolicy()), 0o600); err != nil {
		return "", "", err
	}
	if _, err := cli("identity", "create", "bench"); err != nil {
		return "", "", err
	}
	if _, err := cli("identity", "policy", "put", "bench", docFile); err != nil {
		return "", "", err
	}
	out, err := cli("access-key", "create", "bench")
	if err != nil {
		return "", "", err
	}
	id := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		return "", "", fmt.Errorf("access-key create printed %s", out)
	}

	admin := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(adminID, adminSecret, "")})
	if _, err := admin.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId: aws.String("bench/secret"), ResourcePolicy: aws.String(benchResourcePolicy())}); err != nil {
		st, err := sqlite.Open(filepath.Join(dataDir, "rotor.db"))
		if err != nil {
			return "", "", fmt.Errorf("open the store to set the resource policy: %w", err)
		}
		err = st.Update(ctx, func(tx rotor.Tx) error {
			rec, err := tx.SecretByName("us-east-1", "bench/secret")
			if err != nil {
				return err
			}
			rec.ResourcePolicy = benchResourcePolicy()
			return tx.UpdateSecret(rec)
		})
		st.Close()
		if err != nil {
			return "", "", fmt.Errorf("set the resource policy: %w", err)
		}
	}
	bench := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(id[1], secret[1], "")})
	if _, err := bench.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("bench/secret")}); err == nil ||
		!strings.Contains(err.Error(), "explicit deny in a resource-based policy") {
		return "", "", fmt.Errorf("the resource policy is not in force: DescribeSecret as bench answered %v", err)
	}
	return id[1], secret[1], nil
}
