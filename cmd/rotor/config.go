package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/rotorhq/rotor/internal/sysmem"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/server"
)

// DefaultListen is the address `rotor server` listens on when nothing else
// is configured: loopback only, so a fresh server is never reachable from
// another machine without TLS.
const DefaultListen = "127.0.0.1:8740"

// Config is the server's configuration. Precedence, highest first: flags,
// environment variables, the config file, DefaultConfig. Every key is
// documented in docs/config.md.
type Config struct {
	DataDir string `toml:"data_dir"`
	// BackupDir is the only directory `rotor backup --on-server` (the API's
	// rotor.Backup) writes into; "" = <data_dir>/backups.
	BackupDir string `toml:"backup_dir"`
	// Store selects the database: "" is SQLite in the data directory;
	// postgres://user:password@host:port/db (or postgresql://) is a
	// PostgreSQL database that several servers may share.
	Store     string   `toml:"store"`
	Listen    string   `toml:"listen"`
	Regions   []string `toml:"regions"`
	AccountID string   `toml:"account_id"`
	LogLevel  string   `toml:"log_level"`
	LogFormat string   `toml:"log_format"` // text or json

	// AllowHiddenRegions lets the server start although regions leaves out
	// a region that still holds secrets (they stay stored but unreachable
	// until the region is served again); without it that start is refused.
	AllowHiddenRegions bool `toml:"allow_hidden_regions"`

	TLS struct {
		CertFile string `toml:"cert_file"`
		KeyFile  string `toml:"key_file"`
	} `toml:"tls"`

	Keys struct {
		// File is the key-encryption keyring; "" = <data_dir>/kek.json.
		File string `toml:"file"`
		// Env names an environment variable holding the keyring (a key-file
		// JSON document or one base64 key). When set it wins over File.
		Env string `toml:"env"`
	} `toml:"keys"`

	Versions struct {
		// PruneMinAge: unlabeled versions younger than this are never pruned.
		PruneMinAge duration `toml:"prune_min_age"`
	} `toml:"versions"`

	Rotation struct {
		// Workers bounds how many rotation runs execute at once (across secrets).
		Workers int `toml:"workers"`
		// MaxAttempts is how many times a failing run is attempted before it
		// is marked failed.
		MaxAttempts int `toml:"max_attempts"`
		// ScheduleInterval is how often the scheduler looks for due rotations.
		ScheduleInterval duration `toml:"schedule_interval"`
		// LeaseTTL is how long a server's claim on a rotation run lasts
		// unless renewed (every third of it).
		LeaseTTL duration `toml:"lease_ttl"`
		// Endpoint is the URL exec and http functions call back; "" = the
		// server's own URL.
		Endpoint string `toml:"endpoint"`
	} `toml:"rotation"`

	// Functions are the operator's rotation functions (exec, python and
	// http). Built-in functions need no entry.
	Functions []FunctionConfig `toml:"functions"`

	Deletion struct {
		// PurgeInterval is how often secrets past their recovery window are purged.
		PurgeInterval duration `toml:"purge_interval"`
	} `toml:"deletion"`

	Cache struct {
		// MaxBytes bounds the read cache of sealed secrets, in bytes of
		// estimated memory; 0 disables the cache.
		MaxBytes int64 `toml:"max_bytes"`
		// SharedMaxAge bounds how long a cached secret or access key is
		// used after it was read, with a store shared by several servers
		// (server.Options.SharedCacheMaxAge); ignored for SQLite.
		SharedMaxAge duration `toml:"shared_max_age"`
		// Preload reads secrets into the cache when the server starts
		// (server.Options.PreloadCache).
		Preload bool `toml:"preload"`
		// ReadYourWrites, with a store shared by several servers, makes
		// each request wait until this server applied every change
		// committed before it arrived (server.Options.RelaxedSharedReads
		// is its opposite); ignored for SQLite.
		ReadYourWrites bool `toml:"read_your_writes"`
	} `toml:"cache"`

	Database struct {
		// MmapBytes is sqlite.Options.MmapSize; 0 = off.
		MmapBytes int64 `toml:"mmap_bytes"`
	} `toml:"database"`

	// DebugListen, when set, is a loopback host:port serving net/http/pprof
	// (heap and CPU profiles on demand); "" = off.
	DebugListen string `toml:"debug_listen"`
	// Metrics is the Prometheus /metrics endpoint: always on the debug
	// listener when that is set, and on the main listener when asked.
	Metrics struct {
		OnMainListener bool `toml:"on_main_listener"`
	} `toml:"metrics"`

	// Console is the web console at /console/ on the main listener.
	Console struct {
		Enabled bool `toml:"enabled"`
	} `toml:"console"`

	// File is the config file the configuration was read from, if any.
	File string `toml:"-"`
	// Audit is the audit trail: one hash-chained JSON line per request and
	// rotation step (package audit).
	Audit struct {
		Enabled bool `toml:"enabled"`
		// File is the active audit file; "" = <data_dir>/audit/audit.log.
		File string `toml:"file"`
		// MaxSize is the size at which the file is rotated ("100MiB", or bytes).
		MaxSize byteSize `toml:"max_size"`
		// MaxFiles is how many rotated files are kept; 0 = all.
		MaxFiles int `toml:"max_files"`
		// OnFailure is "refuse" (answer 503) or "serve" while the file
		// cannot be written.
		OnFailure string `toml:"on_failure"`
		// Buffer bounds the records held in memory before they are durable.
		Buffer int `toml:"buffer"`
	} `toml:"audit"`
}

// AuditPath is where the active audit file lives.
func (c *Config) AuditPath() string {
	if c.Audit.File != "" {
		return c.Audit.File
	}
	return filepath.Join(c.DataDir, "audit", "audit.log")
}

// byteSize is a size read from TOML as a number of bytes or a string with
// a unit: "512KiB", "100MiB", "1GiB" (KB, MB, GB are read as the same
// powers of 1024).
type byteSize int64

func (b *byteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("size %q must be a whole number of bytes, optionally with KiB, MiB or GiB", string(text))
	}
	*b = byteSize(n * mult)
	return nil
}

// UnmarshalTOML accepts a TOML integer (bytes) as well as a string.
func (b *byteSize) UnmarshalTOML(v any) error {
	switch t := v.(type) {
	case int64:
		return b.UnmarshalText([]byte(strconv.FormatInt(t, 10)))
	case string:
		return b.UnmarshalText([]byte(t))
	}
	return fmt.Errorf("size must be a number of bytes or a string such as \"100MiB\"")
}

// FunctionConfig declares one rotation function. It is reachable as
// arn:aws:lambda:<region>:<account_id>:function:<name> in each of its regions.
type FunctionConfig struct {
	Name    string   `toml:"name"`
	Kind    string   `toml:"kind"`    // "exec", "python" or "http"
	Regions []string `toml:"regions"` // default: every served region

	// exec: the command; the event JSON arrives on stdin.
	Command []string `toml:"command"`
	// python: an AWS-style handler "module.function" in Dir, run with Python.
	Handler string `toml:"handler"`
	Python  string `toml:"python"`

	Dir     string            `toml:"dir"`
	Env     map[string]string `toml:"env"`
	PassEnv []string          `toml:"pass_env"`
	User    string            `toml:"user"`

	// exec and python: the sandbox, "landlock" (the default) or "none",
	// and what a sandboxed function may read and write besides the system,
	// its command's installation, dir and its scratch directory.
	Isolation  string   `toml:"isolation"`
	ReadPaths  []string `toml:"read_paths"`
	WritePaths []string `toml:"write_paths"`

	// http: the URL invoked with a Lambda-Invoke-shaped POST, and the name
	// of an environment variable holding the HMAC key that signs requests.
	URL           string `toml:"url"`
	HMACSecretEnv string `toml:"hmac_secret_env"`

	Timeout duration `toml:"timeout"`
}

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validate checks one function declaration.
func (f *FunctionConfig) validate(served []string) error {
	if !functionNameRE.MatchString(f.Name) {
		return fmt.Errorf("function name %q must be 1-64 letters, digits, - or _", f.Name)
	}
	if strings.HasPrefix(f.Name, "rotor-") {
		return fmt.Errorf("function %s: names starting with rotor- are reserved for built-in functions", f.Name)
	}
	for _, r := range f.Regions {
		if !slices.Contains(served, r) {
			return fmt.Errorf("function %s: region %s is not served (regions = %v)", f.Name, r, served)
		}
	}
	switch f.Kind {
	case "exec":
		if len(f.Command) == 0 {
			return fmt.Errorf("function %s: kind exec needs command", f.Name)
		}
	case "python":
		if f.Handler == "" || f.Dir == "" {
			return fmt.Errorf("function %s: kind python needs handler (module.function) and dir", f.Name)
		}
	case "http":
		if f.Isolation != "" || len(f.ReadPaths) > 0 || len(f.WritePaths) > 0 {
			return fmt.Errorf("function %s: isolation, read_paths and write_paths apply to exec and python functions only", f.Name)
		}
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("function %s: kind http needs url, an http(s) URL", f.Name)
		}
	default:
		return fmt.Errorf("function %s: kind %q must be exec, python or http", f.Name, f.Kind)
	}
	if f.Timeout.Duration < 0 {
		return fmt.Errorf("function %s: timeout must not be negative", f.Name)
	}
	switch f.Isolation {
	case "", "landlock", "none":
	default:
		return fmt.Errorf("function %s: isolation %q must be landlock or none", f.Name, f.Isolation)
	}
	return nil
}

// sandboxed reports whether f is an exec or python function that runs in
// the Landlock sandbox.
func (f *FunctionConfig) sandboxed() bool {
	return (f.Kind == "exec" || f.Kind == "python") && f.Isolation != "none"
}

// duration is a time.Duration read from TOML as a string such as "24h".
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// cacheBudgetBasis says where a cache.max_bytes of n comes from, for the
// startup log: the setting, or the default and the memory it was sized on.
func cacheBudgetBasis(n int64, getenv func(string) string) string {
	switch {
	case n != defaultCacheBudget(getenv):
		return "cache.max_bytes"
	case n != manager.DefaultCacheMaxBytes():
		return "default: GOMEMLIMIT less 96 MiB"
	}
	l, ok := sysmem.Available()
	if !ok {
		return "default (the memory available is unknown)"
	}
	return fmt.Sprintf("default: a quarter of %d MiB (%s), kept within 16 MiB to 1 GiB", l.Bytes>>20, l.Source)
}

// DefaultConfig returns the configuration `rotor server` uses with no file,
// no environment and no flags.
func DefaultConfig() Config {
	var c Config
	c.DataDir = "rotor-data"
	c.Listen = DefaultListen
	c.Regions = []string{"us-east-1"}
	c.AccountID = "000000000000"
	c.LogLevel = "info"
	c.LogFormat = "text"
	c.Versions.PruneMinAge.Duration = 24 * time.Hour
	c.Deletion.PurgeInterval.Duration = time.Minute
	c.Rotation.Workers = 8
	c.Rotation.MaxAttempts = 5
	c.Rotation.ScheduleInterval.Duration = time.Minute
	c.Rotation.LeaseTTL.Duration = 30 * time.Second
	c.Audit.Enabled = true
	c.Console.Enabled = true
	c.Audit.MaxSize = 100 << 20
	c.Audit.OnFailure = "refuse"
	c.Audit.Buffer = 8192
	c.Cache.MaxBytes = manager.DefaultCacheMaxBytes()
	c.Cache.SharedMaxAge.Duration = server.DefaultSharedCacheMaxAge
	c.Cache.ReadYourWrites = true
	c.Cache.Preload = true
	return c
}

// KeyFile returns where the keyring file lives.
func (c *Config) KeyFile() string {
	if c.Keys.File != "" {
		return c.Keys.File
	}
	return filepath.Join(c.DataDir, "kek.json")
}

// BackupPath returns the directory server-side backups are written into.
func (c *Config) BackupPath() string {
	if c.BackupDir != "" {
		return c.BackupDir
	}
	return filepath.Join(c.DataDir, "backups")
}

// DatabasePath is the SQLite file inside the data directory.
func (c *Config) DatabasePath() string { return filepath.Join(c.DataDir, "rotor.db") }

// CredentialsPath is the shared-credentials file written at first start.
func (c *Config) CredentialsPath() string { return filepath.Join(c.DataDir, "credentials") }

// Protected are the server's files no sandboxed rotation function may
// reach: the data directory (database, WAL, credentials, lock, and the
// keyring by default), the keyring file, the TLS private key, the config
// file, and the audit log's directory when audit.file puts it elsewhere.
func (c *Config) Protected() []string {
	p := []string{c.DataDir, c.KeyFile()}
	if c.TLS.KeyFile != "" {
		p = append(p, c.TLS.KeyFile)
	}
	if c.File != "" {
		p = append(p, c.File)
	}
	if c.Audit.Enabled && c.Audit.File != "" {
		// Outside the data directory: its directory holds the rotated files too.
		p = append(p, filepath.Dir(c.Audit.File))
	}
	if c.BackupDir != "" {
		p = append(p, c.BackupDir)
	}
	return p
}

var (
	regionRE  = regexp.MustCompile(`^([a-z]+-)+\d+$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
)

// Validate checks the configuration, including the rule that a server
// listening beyond loopback must use TLS.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("data_dir must not be empty")
	}
	if c.BackupDir != "" {
		data, err1 := filepath.Abs(c.DataDir)
		backups, err2 := filepath.Abs(c.BackupDir)
		if err1 == nil && err2 == nil && data == backups {
			return fmt.Errorf("backup_dir %q is the data directory: give backups a directory of their own (default <data_dir>/backups)", c.BackupDir)
		}
	}
	if _, err := storeKind(c.Store); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %v", c.Listen, err)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: cert_file and key_file must be set together")
	}
	if !isLoopback(host) && c.TLS.CertFile == "" {
		return fmt.Errorf("listen %q is not a loopback address: refusing to serve secrets without TLS (set tls.cert_file and tls.key_file, or listen on 127.0.0.1)", c.Listen)
	}
	if len(c.Regions) == 0 {
		return errors.New("regions must name at least one region")
	}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return fmt.Errorf("region %q is not a region name such as us-east-1", r)
		}
	}
	if !accountRE.MatchString(c.AccountID) {
		return fmt.Errorf("account_id %q must be 12 digits", c.AccountID)
	}
	if c.Versions.PruneMinAge.Duration < 0 {
		return errors.New("versions.prune_min_age must not be negative")
	}
	if c.Deletion.PurgeInterval.Duration <= 0 {
		return errors.New("deletion.purge_interval must be positive")
	}
	if c.Rotation.Workers < 1 {
		return errors.New("rotation.workers must be at least 1")
	}
	if c.Rotation.MaxAttempts < 1 {
		return errors.New("rotation.max_attempts must be at least 1")
	}
	if c.Rotation.ScheduleInterval.Duration <= 0 {
		return errors.New("rotation.schedule_interval must be positive")
	}
	if c.Rotation.LeaseTTL.Duration < 3*time.Second {
		return errors.New("rotation.lease_ttl must be at least 3s")
	}
	seen := map[string]bool{}
	for i := range c.Functions {
		f := &c.Functions[i]
		if err := f.validate(c.Regions); err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("function %s is declared twice", f.Name)
		}
		seen[f.Name] = true
	}
	if c.Cache.MaxBytes < 0 {
		return errors.New("cache.max_bytes must not be negative")
	}
	if c.Cache.SharedMaxAge.Duration <= 0 {
		return errors.New("cache.shared_max_age must be positive (it bounds how stale a read can be when another server's change notification is lost)")
	}
	if c.Database.MmapBytes < 0 {
		return errors.New("database.mmap_bytes must not be negative")
	}
	if c.DebugListen != "" {
		host, _, err := net.SplitHostPort(c.DebugListen)
		if err != nil {
			return fmt.Errorf("debug_listen %q: %v", c.DebugListen, err)
		}
		if !isLoopback(host) {
			return fmt.Errorf("debug_listen %q is not a loopback address: profiles expose memory contents, so the debug listener only listens on 127.0.0.1, ::1 or localhost", c.DebugListen)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format %q must be text or json", c.LogFormat)
	}
	if c.Audit.OnFailure != "refuse" && c.Audit.OnFailure != "serve" {
		return fmt.Errorf("audit.on_failure %q must be refuse or serve", c.Audit.OnFailure)
	}
	if c.Audit.MaxSize < 1024 {
		return errors.New("audit.max_size must be at least 1KiB")
	}
	if c.Audit.MaxFiles < 0 {
		return errors.New("audit.max_files must not be negative")
	}
	if c.Audit.Buffer < 1 {
		return errors.New("audit.buffer must be at least 1")
	}
	return nil
}

// isLoopback reports whether host (from host:port) only accepts local
// connections. An empty host means every interface, which is not loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setting is one configuration key that the environment and a flag can set.
type setting struct {
	flag, env, usage string
	apply            func(c *Config, v string) error
}

func setString(dst func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

// setOnOff sets a switch from "on" or "off"; anything else is refused.
func setOnOff(dst func(c *Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v {
		case "on":
			*dst(c) = true
		case "off":
			*dst(c) = false
		default:
			return fmt.Errorf("%q must be on or off", v)
		}
		return nil
	}
}

// settings lists every key settable by flag and environment; docs/config.md
// documents the same list.
var settings = []setting{
	{"data-dir", "ROTOR_DATA_DIR", "data directory (default rotor-data)", setString(func(c *Config) *string { return &c.DataDir })},
	{"backup-dir", "ROTOR_BACKUP_DIR", "the only directory server-side backups (backup --on-server) are written into (default <data-dir>/backups)", setString(func(c *Config) *string { return &c.BackupDir })},
	{"store", "ROTOR_STORE", "database: postgres://user:password@host:5432/db, or empty for SQLite in the data directory (default empty)", setString(func(c *Config) *string { return &c.Store })},
	{"listen", "ROTOR_LISTEN", "listen address host:port (default " + DefaultListen + ")", setString(func(c *Config) *string { return &c.Listen })},
	{"regions", "ROTOR_REGIONS", "comma-separated regions served (default us-east-1)", func(c *Config, v string) error { c.Regions = splitList(v); return nil }},
	{"account-id", "ROTOR_ACCOUNT_ID", "12-digit account id used in ARNs", setString(func(c *Config) *string { return &c.AccountID })},
	{"tls-cert", "ROTOR_TLS_CERT", "TLS certificate file (PEM)", setString(func(c *Config) *string { return &c.TLS.CertFile })},
	{"tls-key", "ROTOR_TLS_KEY", "TLS private key file (PEM)", setString(func(c *Config) *string { return &c.TLS.KeyFile })},
	{"key-file", "ROTOR_KEY_FILE", "key-encryption keyring file (default <data-dir>/kek.json)", setString(func(c *Config) *string { return &c.Keys.File })},
	{"key-env", "ROTOR_KEY_ENV", "name of an environment variable holding the keyring", setString(func(c *Config) *string { return &c.Keys.Env })},
	{"prune-min-age", "ROTOR_PRUNE_MIN_AGE", "minimum age before an unlabeled version may be pruned (default 24h)", func(c *Config, v string) error {
		return c.Versions.PruneMinAge.UnmarshalText([]byte(v))
	}},
	{"purge-interval", "ROTOR_PURGE_INTERVAL", "how often deleted secrets past their window are purged (default 1m)", func(c *Config, v string) error {
		return c.Deletion.PurgeInterval.UnmarshalText([]byte(v))
	}},
	{"cache-max-bytes", "ROTOR_CACHE_MAX_BYTES", "read cache budget in bytes, 0 = no cache (default: a quarter of the memory available, 16 MiB to 1 GiB, and GOMEMLIMIT less 96 MiB when that is set)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number of bytes", v)
		}
		c.Cache.MaxBytes = n
		return nil
	}},
	{"cache-preload", "ROTOR_CACHE_PRELOAD", "on or off: read secrets into the cache at start until it is full (default on)", setOnOff(func(c *Config) *bool { return &c.Cache.Preload })},
	{"db-mmap-bytes", "ROTOR_DB_MMAP_BYTES", "bytes of the database the readers memory-map, 0 = off (default 0)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number of bytes", v)
		}
		c.Database.MmapBytes = n
		return nil
	}},
	{"debug-listen", "ROTOR_DEBUG_LISTEN", "loopback host:port serving net/http/pprof (default off)", setString(func(c *Config) *string { return &c.DebugListen })},
	{"log-level", "ROTOR_LOG_LEVEL", "debug, info, warn or error (default info)", setString(func(c *Config) *string { return &c.LogLevel })},
	{"log-format", "ROTOR_LOG_FORMAT", "text or json (default text)", setString(func(c *Config) *string { return &c.LogFormat })},
	{"audit", "ROTOR_AUDIT", "on or off: keep the audit log (default on)", setOnOff(func(c *Config) *bool { return &c.Audit.Enabled })},
	{"audit-file", "ROTOR_AUDIT_FILE", "audit log file (default <data-dir>/audit/audit.log)", setString(func(c *Config) *string { return &c.Audit.File })},
	{"audit-on-failure", "ROTOR_AUDIT_ON_FAILURE", "refuse or serve while the audit log cannot be written (default refuse)", setString(func(c *Config) *string { return &c.Audit.OnFailure })},
}

// LoadConfig builds the configuration from defaults, the config file (the
// --config flag, else $ROTOR_CONFIG, else none), the environment and the
// flags in args, in increasing order of precedence.
func LoadConfig(args []string, getenv func(string) string) (Config, error) {
	return loadConfig(newFlagSet("rotor server"), args, getenv)
}

// loadConfig is LoadConfig with the flags parsed by fs, which may define
// flags of its own command besides the configuration's.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	c.Cache.MaxBytes = defaultCacheBudget(getenv)
	configPath := fs.String("config", getenv(envConfig), "config file (TOML); env ROTOR_CONFIG")
	flagVals := make([]*string, len(settings))
	for i, s := range settings {
		flagVals[i] = fs.String(s.flag, "", s.usage+"; env "+s.env)
	}
	allowHidden := fs.Bool("allow-hidden-regions", false,
		"start although --regions leaves out regions that hold secrets; env ROTOR_ALLOW_HIDDEN_REGIONS=true")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *configPath != "" {
		md, err := toml.DecodeFile(*configPath, &c)
		if err != nil {
			return c, fmt.Errorf("config %s: %w", *configPath, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, fmt.Errorf("config %s: unknown key %q", *configPath, und[0].String())
		}
		c.File = *configPath
	}
	// The environment overrides the file; flags override the environment.
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.apply(&c, v); err != nil {
				return c, fmt.Errorf("%s: %v", s.env, err)
			}
		}
	}
	for i, s := range settings {
		if v := *flagVals[i]; v != "" {
			if err := s.apply(&c, v); err != nil {
				return c, fmt.Errorf("--%s: %v", s.flag, err)
			}
		}
	}
	if v := getenv(envAllowHiddenRegions); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("ROTOR_ALLOW_HIDDEN_REGIONS: %q is not true or false", v)
		}
		c.AllowHiddenRegions = b
	}
	if *allowHidden {
		c.AllowHiddenRegions = true
	}
	return c, c.Validate()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
