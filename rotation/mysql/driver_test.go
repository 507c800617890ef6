package mysql_test

import (
	"context"
	"crypto/tls"
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/mysql"
)

var hostile = []string{
	`it's "quoted" \ back\\slash; DROP USER root; --`,
	`ünï©ødé ✓ 名前 $$ '' \'`,
	`plain-ASCII_pw.123`,
	"tab\tnew\nline\r\x1a%_",
}

var hostileUsers = []string{`o'b"r`, "semi;`tick\\", "ünï名"}

// TestLiteralRoundTrip reads literals back from the server in both
// backslash modes.
func TestLiteralRoundTrip(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	conn, err := s.root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"STRICT_TRANS_TABLES", "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"} {
		if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = '"+mode+"'"); err != nil {
			t.Fatal(err)
		}
		d := mysql.NewDialect(version, mode)
		for _, in := range append(hostile, hostileUsers...) {
			var out string
			if err := conn.QueryRowContext(ctx, "SELECT "+d.Literal(in)).Scan(&out); err != nil {
				t.Fatalf("%s: select %s: %v", mode, d.Literal(in), err)
			}
			if out != in {
				t.Errorf("%s: literal of %q reads back as %q", mode, in, out)
			}
		}
	}
}

func connect(t *testing.T, s *server, user, password string) builtin.Session {
	t.Helper()
	sess, err := mysql.Driver{}.Connect(context.Background(), builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: password})
	if err != nil {
		t.Fatalf("connect as %q: %v", user, err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func TestHostilePasswordsAndNames(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	admin := builtintest.Unique("rotor_test_admin_")
	s.createUser(t, admin, "admin-pw")
	s.exec(t, "GRANT ALL PRIVILEGES ON *.* TO "+mysql.Account(admin, "%")+" WITH GRANT OPTION")
	adm := connect(t, s, admin, "admin-pw").(builtin.Admin)
	for i, base := range hostileUsers {
		user := base + builtintest.Unique("")
		s.createUser(t, user, "initial")
		prev := "initial"
		for j, pw := range hostile {
			if (i+j)%2 == 0 {
				if err := adm.SetPassword(ctx, user, pw); err != nil {
					t.Fatalf("SetPassword(%q): %v", user, err)
				}
			} else {
				sess, err := mysql.Driver{}.Connect(ctx, builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: prev})
				if err != nil {
					t.Fatalf("connect as %q: %v", user, err)
				}
				if who, err := sess.WhoAmI(ctx); err != nil || who != user {
					t.Fatalf("WhoAmI = %q, %v; want %q", who, err, user)
				}
				err = sess.ChangeOwnPassword(ctx, pw)
				sess.Close()
				if err != nil {
					t.Fatalf("ChangeOwnPassword(%q): %v", user, err)
				}
			}
			s.mustLogIn(t, user, pw)
			s.mustRefuse(t, user, prev)
			prev = pw
		}
	}
}

// TestCloneUserCopiesAccount: the clone gets the original's grants, role,
// default role and TLS requirement, and never its password.
func TestCloneUserCopiesAccount(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	db := s.createDB(t)
	user := builtintest.Unique("rotor_test_orig_")
	role := builtintest.Unique("rotor_test_role_")
	s.createUser(t, user, "orig-pw")
	s.exec(t, "GRANT SELECT ON "+mysql.QuoteIdent(db)+".granted TO "+mysql.Account(user, "%")+" WITH GRANT OPTION")
	s.exec(t, "GRANT INSERT (x) ON "+mysql.QuoteIdent(db)+".secret TO "+mysql.Account(user, "%"))
	if s.mariaDB {
		s.exec(t, "CREATE ROLE "+mysql.QuoteIdent(role))
		t.Cleanup(func() { s.root.Exec("DROP ROLE IF EXISTS " + mysql.QuoteIdent(role)) })
		s.exec(t, "GRANT SELECT ON "+mysql.QuoteIdent(db)+".later TO "+mysql.QuoteIdent(role))
		s.exec(t, "GRANT "+mysql.QuoteIdent(role)+" TO "+mysql.Account(user, "%"))
		s.exec(t, "SET DEFAULT ROLE "+mysql.QuoteIdent(role)+" FOR "+mysql.Account(user, "%"))
	}
	s.exec(t, "ALTER USER "+mysql.Account(user, "%")+" REQUIRE SUBJECT '/CN=o''brien' AND ISSUER '/CN=Rotor CA'")

	adm := connect(t, s, s.rootUser, s.rootPassword).(builtin.Admin)
	clone := user + "_clone"
	if err := adm.CloneUser(ctx, user, clone, "clone-pw"); err != nil {
		t.Fatal(err)
	}
	grants := func(u string) []string {
		rows, err := s.root.Query("SHOW GRANTS FOR " + mysql.Account(u, "%"))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var g string
			rows.Scan(&g)
			g = strings.ReplaceAll(g, mysql.Account(u, "%"), "GRANTEE")
			if i := strings.Index(g, " IDENTIFIED BY PASSWORD"); i >= 0 {
				g = g[:i] // the hash differs: the passwords do
			}
			out = append(out, g)
		}
		sort.Strings(out)
		return out
	}
	if o, c := grants(user), grants(clone); strings.Join(o, "\n") != strings.Join(c, "\n") {
		t.Errorf("grants differ:\noriginal %q\nclone    %q", o, c)
	}
	type tlsReq struct{ typ, issuer, subject string }
	req := func(u string) (r tlsReq) {
		if err := s.root.QueryRow("SELECT ssl_type, x509_issuer, x509_subject FROM mysql.user WHERE User = ? AND Host = '%'", u).Scan(&r.typ, &r.issuer, &r.subject); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if o, c := req(user), req(clone); o != c || o.typ != "SPECIFIED" {
		t.Errorf("TLS requirement: original %+v, clone %+v", o, c)
	}
	var same int
	if err := s.root.QueryRow("SELECT count(DISTINCT authentication_string) FROM mysql.user WHERE User IN (?, ?)", user, clone).Scan(&same); err != nil {
		t.Fatal(err)
	} else if same != 2 {
		t.Error("the clone has the original's password hash")
	}

	// CloneUser again (a retried rotation) with the clone in place.
	s.exec(t, "ALTER USER "+mysql.Account(user, "%")+" REQUIRE NONE")
	if err := adm.CloneUser(ctx, user, clone, "clone-pw-2"); err != nil {
		t.Fatal(err)
	}
	s.mustLogIn(t, clone, "clone-pw-2")
}

func TestCloneUserErrors(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	adm := connect(t, s, s.rootUser, s.rootPassword).(builtin.Admin)
	missing := builtintest.Unique("rotor_test_missing_")
	if err := adm.CloneUser(ctx, missing, missing+"_clone", "pw"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("CloneUser of a missing user = %v", err)
	}
	if err := adm.SetPassword(ctx, missing, "pw"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("SetPassword of a missing user = %v", err)
	}
	if err := adm.SyncPrivileges(ctx, missing, missing+"_clone"); err == nil {
		t.Error("SyncPrivileges of missing users succeeded")
	}
	n, err := adm.MaxUsernameLength(ctx)
	if err != nil || n < 32 {
		t.Errorf("MaxUsernameLength = %d, %v", n, err)
	}
}

// TestConnectTLSNoFallback: when TLS is asked for, a server without TLS
// (or with a certificate the client does not trust) is an error, never a
// plaintext connection.
func TestConnectTLSNoFallback(t *testing.T) {
	s := newServer(t)
	_, err := mysql.Driver{}.Connect(context.Background(), builtin.Conn{Host: s.host, Port: s.port, Username: s.rootUser, Password: s.rootPassword,
		TLS: &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}})
	if err == nil {
		t.Fatal("TLS was asked for and the driver connected without verified TLS")
	}
	t.Logf("error: %v", err)
}

// TestConnectClassifiesRefusal: a wrong password, an unknown user or a
// database the account may not use is a refused login
// (builtin.IsLoginRefused), so the strategies try the next password; an
// unreachable server or a missing database is not.
func TestConnectClassifiesRefusal(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rt_class_")
	s.createUser(t, user, "right-pw")
	s.exec(t, "GRANT ALL PRIVILEGES ON *.* TO "+mysql.Account(user, "%")) // so a missing database is not "access denied to database"
	plain := builtintest.Unique("rt_plain_")                              // no privileges
	s.createUser(t, plain, "right-pw")
	db := s.createDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tests := map[string]struct {
		c       builtin.Conn
		refused bool
	}{
		"WrongPassword":   {builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "wrong-pw"}, true},
		"UnknownUser":     {builtin.Conn{Host: s.host, Port: s.port, Username: user + "_x", Password: "right-pw"}, true},
		"NoDBAccess":      {builtin.Conn{Host: s.host, Port: s.port, Username: plain, Password: "right-pw", Database: db}, true},
		"ClosedPort":      {builtin.Conn{Host: "127.0.0.1", Port: closed, Username: user, Password: "right-pw"}, false},
		"MissingDatabase": {builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "right-pw", Database: user + "_nodb"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sess, err := mysql.Driver{}.Connect(context.Background(), tt.c)
			if err == nil {
				sess.Close()
				t.Fatal("Connect succeeded")
			}
			if got := builtin.IsLoginRefused(err); got != tt.refused {
				t.Errorf("IsLoginRefused(%v) = %v, want %v", err, got, tt.refused)
			}
		})
	}
}
