package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/mysqlsecret"
	"github.com/rotorhq/rotor/client/pgsecret"
	"github.com/rotorhq/rotor/client/redissecret"
)

// Engines, as named by -engines and by the secrets' engine key.
const (
	enginePostgres = "postgres"
	engineMariaDB  = "mariadb"
	engineRedis    = "redis"
)

// Strategies, as named by -strategies and in the built-in functions'
// names (rotor-<engine>-<strategy>).
const (
	strategySingle      = "single-user"
	strategyAlternating = "alternating-users"
	strategyMulti       = "multi-credential"
)

// allEngines and allStrategies are the defaults of -engines and
// -strategies, in the order results are printed.
var (
	allEngines    = []string{enginePostgres, engineMariaDB, engineRedis}
	allStrategies = []string{strategySingle, strategyAlternating, strategyMulti}
)

// supports reports whether Rotor has a built-in function for engine and
// strategy: PostgreSQL and MariaDB rotate with a single user or alternating
// users, Redis with a single user or multiple credentials.
func supports(engine, strategy string) bool {
	switch strategy {
	case strategySingle:
		return true
	case strategyAlternating:
		return engine == enginePostgres || engine == engineMariaDB
	case strategyMulti:
		return engine == engineRedis
	}
	return false
}

// functionARN is the Lambda ARN of the built-in function for engine and
// strategy on a server with the default account id.
func functionARN(engine, strategy string) string {
	return "arn:aws:lambda:" + region + ":000000000000:function:rotor-" + engine + "-" + strategy
}

// Service URLs: the same variables and defaults as the project's other
// integration tests.
const (
	postgresEnv = "ROTOR_TEST_POSTGRES_URL"
	mysqlEnv    = "ROTOR_TEST_MYSQL_URL"
	redisEnv    = "ROTOR_TEST_REDIS_URL"

	postgresDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	mysqlDefault    = "mysql://root@127.0.0.1:3306/"
	redisDefault    = "redis://127.0.0.1:6379/0"
)

// serviceEnv returns the environment variable naming engine's service and
// its default URL.
func serviceEnv(engine string) (env, def string) {
	switch engine {
	case enginePostgres:
		return postgresEnv, postgresDefault
	case engineMariaDB:
		return mysqlEnv, mysqlDefault
	default:
		return redisEnv, redisDefault
	}
}

// serviceURL returns the administrator URL for engine: $env or the
// default.
func serviceURL(engine string, getenv func(string) string) string {
	env, def := serviceEnv(engine)
	if v := getenv(env); v != "" {
		return v
	}
	return def
}

// reachable checks that the host of the service URL raw accepts TCP
// connections; the error names env.
func reachable(raw, env string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s=%q is not a URL with a host", env, raw)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		return fmt.Errorf("service at %s unreachable (%v); set %s to a reachable server", u.Host, err, env)
	}
	conn.Close()
	return nil
}

// target is one database server and an administrator session on it.
type target interface {
	// prepare creates the users strategy needs, proves that the server
	// checks their passwords, and returns the scene.
	prepare(ctx context.Context, strategy string) (*scene, error)
	// loader returns the application's side: connections through the
	// project's connector, logging in with the secret secretID read
	// through cache.
	loader(cache *client.Cache, secretID string) loader
	// close ends the administrator session.
	close()
}

// scene is what one engine × strategy run needs on the database: the
// rotated secret's value, the master secret's value (nil when the strategy
// acts as the user itself) and how to remove the users afterwards.
type scene struct {
	secret  map[string]any
	master  map[string]any
	cleanup func(context.Context) error
}

// loader is the application under test: each call of once opens a new
// connection through the connector (so it authenticates), runs one query
// (SELECT 1 or PING) and closes the connection.
type loader interface {
	// once returns the time from the start of the connect to the query's
	// answer (closing is not timed) and any error the application sees.
	once(ctx context.Context) (time.Duration, error)
	// stats returns the connector's login counters.
	stats() client.DialStats
	// close releases the loader's resources.
	close()
}

// openTarget connects to engine's service at raw as its administrator.
func openTarget(ctx context.Context, engine, raw string) (target, error) {
	switch engine {
	case enginePostgres:
		return openPostgres(ctx, raw)
	case engineMariaDB:
		return openMariaDB(ctx, raw)
	case engineRedis:
		return openRedis(ctx, raw)
	}
	return nil, fmt.Errorf("unknown engine %q", engine)
}

// uniqueName returns prefix followed by 12 random hex digits: a valid,
// lower-case user name on every engine.
func uniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newPassword returns a random password of letters and digits.
func newPassword() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "pw" + hex.EncodeToString(b)
}

// hostPort splits a URL's host, with def as the port when it has none.
func hostPort(u *url.URL, def int) (string, int, error) {
	port := def
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", 0, fmt.Errorf("bad port in %s: %w", u.Redacted(), err)
		}
		port = n
	}
	return u.Hostname(), port, nil
}

// dbSecret is the AWS database JSON shape for one user; ssl is false (the
// services run on loopback without TLS).
func dbSecret(engine, host string, port int, user, password string) map[string]any {
	return map[string]any{"engine": engine, "host": host, "port": port, "username": user, "password": password, "ssl": false}
}

// sqlLoader is the loader of the two database/sql connectors: a *sql.DB
// that keeps no idle connection, so every db.Conn opens (and logs in) a new
// one and every Close ends it.
type sqlLoader struct {
	db      *sql.DB
	statsFn func() client.DialStats
}

func (l *sqlLoader) once(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return time.Since(start), err
	}
	defer conn.Close()
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return time.Since(start), err
	}
	d := time.Since(start)
	if one != 1 {
		return d, fmt.Errorf("SELECT 1 answered %d", one)
	}
	return d, nil
}

func (l *sqlLoader) stats() client.DialStats { return l.statsFn() }

func (l *sqlLoader) close() { l.db.Close() }

// ---- PostgreSQL ----

// postgresTarget is a PostgreSQL server and a superuser session on it.
type postgresTarget struct {
	host    string
	port    int
	admin   *pgx.Conn
	version int // server_version_num
}

func openPostgres(ctx context.Context, raw string) (*postgresTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", postgresEnv, err)
	}
	host, port, err := hostPort(u, pgsecret.DefaultPort)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	t := &postgresTarget{host: host, port: port, admin: conn}
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("PostgreSQL version: %w", err)
	}
	t.version, _ = strconv.Atoi(v)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rotor_password_auth')").Scan(&exists); err != nil || !exists {
		conn.Close(ctx)
		return nil, fmt.Errorf("role rotor_password_auth missing (%v): run scripts/services so PostgreSQL checks the test roles' passwords", err)
	}
	return t, nil
}

func (t *postgresTarget) exec(ctx context.Context, stmt string) error {
	if _, err := t.admin.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("postgres: %s: %w", strings.SplitN(stmt, " PASSWORD ", 2)[0], err)
	}
	return nil
}

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createRole creates a login role that must authenticate with its password
// (a member of rotor_password_auth, which pg_hba.conf sends to
// scram-sha-256).
func (t *postgresTarget) createRole(ctx context.Context, name, password, attrs string) error {
	return t.exec(ctx, "CREATE ROLE "+pgIdent(name)+" WITH LOGIN "+attrs+" PASSWORD "+pgLiteral(password)+" IN ROLE rotor_password_auth")
}

func (t *postgresTarget) prepare(ctx context.Context, strategy string) (*scene, error) {
	user, pw := uniqueName("rotor_bench_"), newPassword()
	admin, adminPW := uniqueName("rotor_bench_admin_"), newPassword()
	sc := &scene{secret: dbSecret(enginePostgres, t.host, t.port, user, pw)}
	sc.secret["dbname"] = "postgres"
	sc.cleanup = func(ctx context.Context) error {
		var errs []error
		for _, r := range []string{user + "_clone", user, admin} {
			errs = append(errs, t.exec(ctx, "DROP ROLE IF EXISTS "+pgIdent(r)))
		}
		return errors.Join(errs...)
	}
	if err := t.createRole(ctx, user, pw, ""); err != nil {
		return sc, err
	}
	if err := t.checkLogin(ctx, user, pw); err != nil {
		return sc, err
	}
	if strategy == strategyAlternating {
		if err := t.createRole(ctx, admin, adminPW, "CREATEROLE"); err != nil {
			return sc, err
		}
		if t.version >= 160000 { // CREATEROLE acts only on roles it administers
			if err := t.exec(ctx, "GRANT "+pgIdent(user)+" TO "+pgIdent(admin)+" WITH ADMIN OPTION"); err != nil {
				return sc, err
			}
		}
		sc.master = dbSecret(enginePostgres, t.host, t.port, admin, adminPW)
		sc.master["dbname"] = "postgres"
	}
	return sc, nil
}

// checkLogin proves that the server refuses a wrong password for user and
// accepts password: a server that trusts every connection would make any
// rotation look harmless.
func (t *postgresTarget) checkLogin(ctx context.Context, user, password string) error {
	login := func(pw string) error {
		cfg, err := pgx.ParseConfig("sslmode=disable dbname=postgres connect_timeout=5")
		if err != nil {
			return err
		}
		cfg.Host, cfg.Port, cfg.User, cfg.Password = t.host, uint16(t.port), user, pw
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}
	err := login(password + "-wrong")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" {
		return fmt.Errorf("postgres: a wrong password for %s was not refused with 28P01 (%v): is pg_hba.conf set up by scripts/services?", user, err)
	}
	if err := login(password); err != nil {
		return fmt.Errorf("postgres: log in as %s: %w", user, err)
	}
	return nil
}

func (t *postgresTarget) loader(cache *client.Cache, secretID string) loader {
	c := pgsecret.NewConnector(cache, secretID)
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(-1)
	return &sqlLoader{db: db, statsFn: c.Stats}
}

func (t *postgresTarget) close() { t.admin.Close(context.Background()) }

// ---- MariaDB ----

// mariadbTarget is a MariaDB (or MySQL) server and its root session.
type mariadbTarget struct {
	host string
	port int
	root *sql.DB
}

func openMariaDB(ctx context.Context, raw string) (*mariadbTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mysqlEnv, err)
	}
	host, port, err := hostPort(u, mysqlsecret.DefaultPort)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Timeout = 5 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	return &mariadbTarget{host: host, port: port, root: db}, nil
}

func mysqlAccount(user string) string { return "`" + strings.ReplaceAll(user, "`", "``") + "`@'%'" }

func mysqlLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (t *mariadbTarget) exec(ctx context.Context, stmt string) error {
	if _, err := t.root.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("mariadb: %s: %w", strings.SplitN(stmt, " IDENTIFIED BY ", 2)[0], err)
	}
	return nil
}

func (t *mariadbTarget) prepare(ctx context.Context, strategy string) (*scene, error) {
	user, pw := uniqueName("rotor_bench_"), newPassword()
	admin, adminPW := uniqueName("rotor_bench_admin_"), newPassword()
	sc := &scene{secret: dbSecret(engineMariaDB, t.host, t.port, user, pw)}
	sc.cleanup = func(ctx context.Context) error {
		var errs []error
		for _, u := range []string{user, user + "_clone", admin} {
			errs = append(errs, t.exec(ctx, "DROP USER IF EXISTS "+mysqlAccount(u)))
		}
		return errors.Join(errs...)
	}
	if err := t.exec(ctx, "CREATE USER "+mysqlAccount(user)+" IDENTIFIED BY "+mysqlLiteral(pw)); err != nil {
		return sc, err
	}
	if err := t.checkLogin(ctx, user, pw); err != nil {
		return sc, err
	}
	if strategy == strategyAlternating {
		if err := t.exec(ctx, "CREATE USER "+mysqlAccount(admin)+" IDENTIFIED BY "+mysqlLiteral(adminPW)); err != nil {
			return sc, err
		}
		if err := t.exec(ctx, "GRANT ALL PRIVILEGES ON *.* TO "+mysqlAccount(admin)+" WITH GRANT OPTION"); err != nil {
			return sc, err
		}
		sc.master = dbSecret(engineMariaDB, t.host, t.port, admin, adminPW)
	}
	return sc, nil
}

// checkLogin proves that the server refuses a wrong password for user
// (error 1045) and accepts password.
func (t *mariadbTarget) checkLogin(ctx context.Context, user, password string) error {
	login := func(pw string) error {
		cfg := mysql.NewConfig()
		cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", net.JoinHostPort(t.host, strconv.Itoa(t.port)), user, pw
		cfg.Timeout = 5 * time.Second
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(c)
		defer db.Close()
		return db.PingContext(ctx)
	}
	err := login(password + "-wrong")
	if !mysqlsecret.IsAuthFailure(err) {
		return fmt.Errorf("mariadb: a wrong password for %s was not refused with error 1045 (%v)", user, err)
	}
	if err := login(password); err != nil {
		return fmt.Errorf("mariadb: log in as %s: %w", user, err)
	}
	return nil
}

func (t *mariadbTarget) loader(cache *client.Cache, secretID string) loader {
	c := mysqlsecret.NewConnector(cache, secretID)
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(-1)
	return &sqlLoader{db: db, statsFn: c.Stats}
}

func (t *mariadbTarget) close() { t.root.Close() }

// ---- Redis ----

// redisTarget is a Redis server and a session as the URL's user (an
// administrator: the default user unless the URL names another).
type redisTarget struct {
	host  string
	port  int
	addr  string
	admin *redis.Client
}

func openRedis(ctx context.Context, raw string) (*redisTarget, error) {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redisEnv, err)
	}
	u, _ := url.Parse(raw)
	host, port, err := hostPort(u, redissecret.DefaultPort)
	if err != nil {
		return nil, err
	}
	opt.Protocol = 2
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	return &redisTarget{host: host, port: port, addr: opt.Addr, admin: c}, nil
}

// Rules of the benchmark's ACL users. A single-user rotation changes the
// user's password as the user itself, so that user may run ACL SETUSER
// (and CONFIG GET, to learn whether there is an ACL file); with multiple
// credentials an administrator does it.
var (
	redisPlainRules = []string{"+@connection", "+acl|whoami"}
	redisAdminRules = []string{"+@connection", "+acl|whoami", "+acl|setuser", "+config|get", "+acl|save"}
)

func (t *redisTarget) setUser(ctx context.Context, name, password string, rules []string) error {
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + password}
	for _, r := range rules {
		args = append(args, r)
	}
	if err := t.admin.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("redis: ACL SETUSER %s: %w", name, err)
	}
	return nil
}

func (t *redisTarget) prepare(ctx context.Context, strategy string) (*scene, error) {
	user, pw := uniqueName("rotor_bench_"), newPassword()
	admin, adminPW := uniqueName("rotor_bench_admin_"), newPassword()
	sc := &scene{secret: dbSecret(engineRedis, t.host, t.port, user, pw)}
	sc.cleanup = func(ctx context.Context) error {
		if err := t.admin.Do(ctx, "ACL", "DELUSER", user, admin).Err(); err != nil {
			return fmt.Errorf("redis: ACL DELUSER: %w", err)
		}
		return nil
	}
	rules := redisAdminRules
	if strategy == strategyMulti {
		rules = redisPlainRules
		if err := t.setUser(ctx, admin, adminPW, redisAdminRules); err != nil {
			return sc, err
		}
		sc.master = dbSecret(engineRedis, t.host, t.port, admin, adminPW)
	}
	if err := t.setUser(ctx, user, pw, rules); err != nil {
		return sc, err
	}
	return sc, t.checkLogin(ctx, user, pw)
}

// checkLogin proves that Redis refuses a wrong password for user
// (WRONGPASS) and that password logs in as user.
func (t *redisTarget) checkLogin(ctx context.Context, user, password string) error {
	login := func(pw string) (string, error) {
		c := redis.NewClient(&redis.Options{Addr: t.addr, Username: user, Password: pw, Protocol: 2,
			MaxRetries: -1, DialTimeout: 5 * time.Second, DisableIdentity: true})
		defer c.Close()
		return c.Do(ctx, "ACL", "WHOAMI").Text()
	}
	if _, err := login(password + "-wrong"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		return fmt.Errorf("redis: a wrong password for %s was not refused with WRONGPASS (%v)", user, err)
	}
	who, err := login(password)
	if err != nil {
		return fmt.Errorf("redis: log in as %s: %w", user, err)
	}
	if who != user {
		return fmt.Errorf("redis: logged in as %q, want %q", who, user)
	}
	return nil
}

func (t *redisTarget) loader(cache *client.Cache, secretID string) loader {
	return &redisLoader{conn: redissecret.NewConnector(cache, secretID), addr: t.addr}
}

func (t *redisTarget) close() { t.admin.Close() }

// redisLoader makes a new go-redis client for every iteration, so every
// PING runs on a new connection dialled and authenticated by the
// connector. go-redis's own retries are off (MaxRetries -1) so that no
// error is hidden from the count.
type redisLoader struct {
	conn *redissecret.Connector
	addr string
}

func (l *redisLoader) once(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	rdb := l.conn.NewClient(&redis.Options{Addr: l.addr, MaxRetries: -1})
	defer rdb.Close()
	err := rdb.Ping(ctx).Err()
	return time.Since(start), err
}

func (l *redisLoader) stats() client.DialStats { return l.conn.Stats() }

func (l *redisLoader) close() {}
