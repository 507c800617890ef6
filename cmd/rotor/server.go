package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/audit"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/internal/metrics"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

// Main is a running server: Run opens everything and starts serving, Close
// undoes it in reverse order. Tests run it in-process.
type Main struct {
	Config Config
	Getenv func(string) string // nil = os.Getenv
	Stdout io.Writer           // where the first-start lines are printed; nil = os.Stdout
	Logger *slog.Logger        // nil = text logs on os.Stderr

	// landlockSupported says whether functions can be sandboxed; nil =
	// lambda.LandlockSupported. Tests replace it to see the refusal.
	landlockSupported func() error

	lock     *os.File
	debug    *http.Server // net/http/pprof and /metrics on Config.DebugListen; nil = off
	debugLn  net.Addr     // where debug listens, once Run has returned
	metrics  *metrics.Metrics
	store    rotor.Store
	sqlite   *sqlite.Store // store, when it is SQLite (for its statistics)
	audit    *audit.Log    // nil when audit.enabled is false
	keyring  *envelope.Keyring
	keys     *keyFollower // nil when the keyring comes from keys.env
	keysStop func()       // stops keys.run
	keysDone chan struct{}
	core     *server.Server
	auth     *auth.Service    // core.Auth
	manager  *manager.Service // core.Manager
	listener net.Listener
	server   *http.Server
	done     chan struct{} // receives once Serve has returned
}

// URL is the endpoint clients use, known once Run has returned.
func (m *Main) URL() string {
	scheme := "http"
	if m.Config.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + m.listener.Addr().String()
}

// Run prepares the data directory, opens the keyring and the database,
// creates the admin identity on first start, and starts serving. It returns
// once the listener is open; serving continues until Close.
func (m *Main) Run(ctx context.Context) (err error) {
	c := &m.Config
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	if m.Stdout == nil {
		m.Stdout = os.Stdout
	}
	if m.Logger == nil {
		m.Logger = newFormatLogger(os.Stderr, c.LogLevel, c.LogFormat)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	// Before any secret is in memory: no same-user process (a rotation
	// function among them) may ptrace this one or read its memory.
	if err := lambda.ProtectProcess(); err != nil {
		return err
	}
	if m.landlockSupported == nil {
		m.landlockSupported = lambda.LandlockSupported
	}

	m.metrics = metrics.New()
	m.metrics.SetLogger(m.Logger)
	if c.DebugListen != "" {
		var ln net.Listener
		if m.debug, ln, err = debugServer(c.DebugListen, m.metrics.Handler()); err != nil {
			return err
		}
		m.debugLn = ln.Addr()
		m.Logger.Info("debug listener serving net/http/pprof and /metrics", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	}
	if err := prepareDataDir(c.DataDir); err != nil {
		return err
	}
	warnForeignDataDir(c.DataDir, os.Geteuid(), m.Logger)
	if m.lock, err = lockDataDir(c.DataDir); err != nil {
		return err
	}
	// Snapshots a download was taking when a server on this directory died.
	if err := admin.RemoveScratch(c.DataDir); err != nil {
		m.Logger.Warn("could not remove an unfinished backup snapshot from the data directory", "err", err)
	}
	// The database first: a keyring that lacks a key it uses is refused
	// before anything is written.
	if m.store, m.sqlite, err = openStore(ctx, c, m.Logger); err != nil {
		return err
	}
	if m.sqlite != nil {
		m.metrics.AddStore(m.sqlite.Stats)
	}
	if err := checkHiddenRegions(ctx, m.store, c.Regions, c.AllowHiddenRegions, m.Logger); err != nil {
		return err
	}
	inUse, err := keyIDsInUse(ctx, m.store)
	if err != nil {
		return err
	}
	keyFile, keySource := c.KeyFile(), "key file "+c.KeyFile()
	if c.Keys.Env != "" {
		material := m.Getenv(c.Keys.Env)
		if material == "" {
			return fmt.Errorf("keys.env names %s, but that environment variable is empty", c.Keys.Env)
		}
		if m.keyring, err = envelope.Parse([]byte(material)); err != nil {
			return fmt.Errorf("keyring from $%s: %w", c.Keys.Env, err)
		}
		keyFile, keySource = "", "$"+c.Keys.Env
	} else {
		var created bool
		if m.keyring, created, err = loadKeyFile(keyFile, inUse); err != nil {
			return fmt.Errorf("keyring %s: %w", keyFile, err)
		}
		if created {
			m.Logger.Info("created key-encryption keyring", "file", keyFile)
		}
		if m.keyring == nil {
			keySource += ", which does not exist"
		}
	}
	if keyFile != "" && m.keyring != nil {
		m.keys = newKeyFollower(keyFile, m.keyring, m.Logger)
	}
	if err := checkKeyring(m.keyring, inUse, keySource, c.storeName()); err != nil {
		return err
	}
	if err := probeKeyring(ctx, m.store, m.keyring, inUse, c.storeName()); err != nil {
		return err
	}
	if c.Audit.Enabled {
		if m.audit, err = audit.Open(audit.Options{
			Path:      c.AuditPath(),
			MaxSize:   int64(c.Audit.MaxSize),
			MaxFiles:  c.Audit.MaxFiles,
			OnFailure: audit.Policy(c.Audit.OnFailure),
			Buffer:    c.Audit.Buffer,
			Account:   c.AccountID,
			Logger:    m.Logger,
		}); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	} else {
		m.Logger.Warn("the audit log is off (audit.enabled = false): requests and rotations are not audited")
	}

	if m.core, err = server.New(ctx, server.Options{
		Store:              m.store,
		Keyring:            m.keyring,
		KeyFile:            keyFile,
		ReloadKeyring:      m.reloadKeyring(),
		BackupDir:          c.BackupPath(),
		ScratchDir:         c.DataDir,
		Regions:            c.Regions,
		Account:            c.AccountID,
		Logger:             m.Logger,
		Audit:              m.audit,
		Metrics:            m.metrics,
		MetricsOnHandler:   c.Metrics.OnMainListener,
		PruneMinAge:        pruneMinAge(c.Versions.PruneMinAge.Duration),
		CacheMaxBytes:      managerCacheBytes(c.Cache.MaxBytes),
		PreloadCache:       c.Cache.Preload,
		PurgeInterval:      c.Deletion.PurgeInterval.Duration,
		SharedCacheMaxAge:  c.Cache.SharedMaxAge.Duration,
		RelaxedSharedReads: !c.Cache.ReadYourWrites,
		Rotation: server.RotationOptions{
			Workers:          c.Rotation.Workers,
			MaxAttempts:      c.Rotation.MaxAttempts,
			ScheduleInterval: c.Rotation.ScheduleInterval.Duration,
			LeaseTTL:         c.Rotation.LeaseTTL.Duration,
			Endpoint:         m.functionEndpoint,
			Failpoint:        failpoint(m.Getenv(envTestFailpoint), m.Logger),
		},
		RegisterFunctions: func(reg *rotation.Registry) error {
			return registerFunctions(reg, c.Functions, m.Getenv, c.Protected(), m.landlockSupported())
		},
	}); err != nil {
		return err
	}
	m.auth, m.manager = m.core.Auth, m.core.Manager
	key, err := m.auth.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("create admin identity: %w", err)
	}
	if key != nil {
		if err := writeCredentials(c.CredentialsPath(), key, c.Regions[0]); err != nil {
			return err
		}
	} else if c.sharedStore() {
		// Servers sharing a database that start on it empty may each have
		// made their own keyring; the one that created the admin identity
		// sealed its key with its own. Every other one must stop before it
		// writes data the rest cannot read.
		if inUse, err = keyIDsInUse(ctx, m.store); err != nil {
			return err
		}
		if err := checkKeyring(m.keyring, inUse, keySource, c.storeName()); err != nil {
			return fmt.Errorf("another server on this database started first with a different keyring; give every server the same one (copy its key file, or the same keys.env value).\n%w", err)
		}
	}

	if c.Console.Enabled {
		if err := m.mountConsole(m.core.Mux); err != nil {
			return err
		}
	}
	m.server = &http.Server{
		Handler:           m.core.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	if m.listener, err = net.Listen("tcp", c.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		m.listener = tls.NewListener(m.listener, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}

	m.core.Start()
	if m.keys != nil {
		ctx, cancel := context.WithCancel(context.Background())
		m.keysStop = func() { cancel(); <-m.keysDone }
		m.keysDone = make(chan struct{})
		go func() { defer close(m.keysDone); m.keys.run(ctx) }()
	}
	m.done = make(chan struct{}, 1)
	go func() {
		if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("serve", "err", err)
		}
		m.done <- struct{}{}
	}()
	m.Logger.Info("rotor serving", "url", m.URL(), "data_dir", c.DataDir, "regions", strings.Join(c.Regions, ","))
	m.Logger.Info("read cache", "max_bytes", c.Cache.MaxBytes, "basis", cacheBudgetBasis(c.Cache.MaxBytes, m.Getenv))
	m.printHints()
	return nil
}

// reloadKeyring is server.Options.ReloadKeyring: nil without a key file.
func (m *Main) reloadKeyring() func() error {
	if m.keys == nil {
		return nil
	}
	return m.keys.Reload
}

// functionEndpoint is the URL exec and http functions call back.
func (m *Main) functionEndpoint() string {
	if m.Config.Rotation.Endpoint != "" {
		return m.Config.Rotation.Endpoint
	}
	return m.URL()
}

// printHints prints the lines a user needs to talk to this server.
func (m *Main) printHints() {
	creds, _ := filepath.Abs(m.Config.CredentialsPath())
	fmt.Fprintf(m.Stdout, "Rotor is serving the AWS Secrets Manager API at %s\n", m.URL())
	if _, err := os.Stat(creds); err == nil {
		fmt.Fprintf(m.Stdout, "Use it with:\n  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=rotor AWS_REGION=%[2]s AWS_DEFAULT_REGION=%[2]s AWS_ENDPOINT_URL=%[3]s\n",
			creds, m.Config.Regions[0], m.URL())
		// AWS CLIs before 1.29.0/2.13.0 (and SDKs of that age) ignore
		// AWS_ENDPOINT_URL and would send the request, signed with this
		// key id, to real AWS: the hint must also work for them.
		fmt.Fprintf(m.Stdout, "then, with any AWS CLI (older ones, e.g. 2.9, ignore AWS_ENDPOINT_URL and would call real AWS):\n  aws --endpoint-url \"$AWS_ENDPOINT_URL\" secretsmanager list-secrets\n")
		fmt.Fprintf(m.Stdout, "The admin access key in that file is the only plaintext copy: move it into your own secret store and delete the file.\n")
	}
}

// Close stops serving (letting requests in flight finish for up to 10 s),
// writes the LastAccessedDates still noted in memory, then closes the
// database and releases the data-directory lock.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if m.done != nil {
		<-m.done // Serve has returned
		m.done = nil
	}
	if m.keysStop != nil {
		m.keysStop()
		m.keysStop = nil
	}
	if m.core != nil {
		// Stops the engine, scheduler and purger, and writes the access
		// dates noted by the last reads (see manager/access.go).
		errs = append(errs, m.core.Close())
		m.core = nil
	}
	if m.audit != nil { // after the server and the engine: their last records are written
		errs = append(errs, m.audit.Close())
		m.audit = nil
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
		m.store = nil
	}
	if m.debug != nil {
		errs = append(errs, closeDebug(m.debug))
		m.debug = nil
	}
	if m.lock != nil {
		errs = append(errs, m.lock.Close()) // closing the descriptor releases the flock
		m.lock = nil
	}
	return errors.Join(errs...)
}

// prepareDataDir creates the data directory with mode 0700, or checks that
// an existing one is not open to other users.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("data directory %s has mode %04o: it must not be accessible to group or others (chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// lockDataDir takes an exclusive lock on <dir>/rotor.lock so a second
// server on the same data directory refuses to start.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "rotor.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another rotor server (lock %s is held)", dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return f, nil
}

// writeCredentials writes the admin key, once, as an AWS shared-credentials
// file readable only by the owner.
func writeCredentials(path string, key *rotor.AccessKey, region string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials file: %w", err)
	}
	return fillCredentials(f, "written once at first start", key, region)
}

// fillCredentials writes key as the [rotor] profile of an AWS
// shared-credentials file to f, a new file of mode 0600, syncs and closes
// it. why says in the file's header where the key comes from.
func fillCredentials(f *os.File, why string, key *rotor.AccessKey, region string) error {
	body := fmt.Sprintf("# Rotor admin credentials, %s.\n# Move them into your own secret store and delete this file.\n[rotor]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = %s\n",
		why, key.AccessKeyID, key.SecretAccessKey, region)
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("write credentials file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write credentials file: %w", err)
	}
	return f.Close()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	return newFormatLogger(w, level, "text")
}

// newFormatLogger logs at level (a valid log_level) to w as slog's text
// lines, or as one JSON object a line when format is "json".
func newFormatLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// managerCacheBytes maps cache.max_bytes to the manager's setting, which
// reads 0 as "the default" and a negative budget as "no cache".
func managerCacheBytes(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// pruneMinAge maps the configured minimum age to the manager's setting,
// which reads 0 as "the default, 24 h": an operator's explicit 0 means
// "prune as soon as a secret has more than 100 unlabeled versions".
func pruneMinAge(d time.Duration) time.Duration {
	if d == 0 {
		return time.Nanosecond
	}
	return d
}
