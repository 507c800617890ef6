package postgres_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/postgres"
)

// hostile are passwords and user names that break naive quoting.
var hostile = []string{
	`it's "quoted" \ back\\slash; $$ DROP ROLE postgres; $$ --`,
	`ünï©ødé ✓ 名前 $tag$ '' \'`,
	`plain-ASCII_pw.123`,
	`E'\x41' ' OR '1'='1`,
}

var hostileUsers = []string{
	`o'brien "the" user`,
	`semi;colon$$ \back`,
	`ünï名`,
}

func TestQuoteLiteralRoundTrip(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	for _, scs := range []string{"on", "off"} {
		t.Run("standard_conforming_strings="+scs, func(t *testing.T) {
			s.exec(t, "SET standard_conforming_strings = "+scs)
			defer s.exec(t, "RESET standard_conforming_strings")
			for _, in := range append(hostile, hostileUsers...) {
				var out string
				if err := s.admin.QueryRow(ctx, "SELECT "+postgres.QuoteLiteral(in)).Scan(&out); err != nil {
					t.Fatalf("select %s: %v", postgres.QuoteLiteral(in), err)
				}
				if out != in {
					t.Errorf("literal of %q reads back as %q", in, out)
				}
			}
		})
	}
}

func TestIdentRoundTrip(t *testing.T) {
	s := newServer(t)
	for _, in := range hostileUsers {
		var out string
		if err := s.admin.QueryRow(context.Background(), "SELECT "+postgres.QuoteLiteral("x")+" AS "+postgres.Ident(in)).Scan(&out); err != nil {
			t.Fatalf("identifier %s: %v", postgres.Ident(in), err)
		}
		rows, err := s.admin.Query(context.Background(), "SELECT 1 AS "+postgres.Ident(in))
		if err != nil {
			t.Fatal(err)
		}
		name := rows.FieldDescriptions()[0].Name
		rows.Close()
		if name != in {
			t.Errorf("identifier of %q reads back as %q", in, name)
		}
	}
}

// TestVerifierMatchesServer: the SCRAM-SHA-256 verifier computed here is
// byte for byte the one the server computes from the same password and
// salt.
func TestVerifierMatchesServer(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	role := builtintest.Unique("rotor_test_scram_")
	for i, pw := range []string{"plain-ASCII_pw.123", `it's "quoted" \ ; $$`, " spaces and\ttab "} {
		name := role + strconv.Itoa(i)
		s.exec(t, "SET password_encryption = 'scram-sha-256'")
		s.createRole(t, name, pw, "")
		var stored string
		if err := s.admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", name).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		// SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>
		head, _, _ := strings.Cut(strings.TrimPrefix(stored, "SCRAM-SHA-256$"), "$")
		iterS, saltB64, _ := strings.Cut(head, ":")
		iter, _ := strconv.Atoi(iterS)
		salt, err := base64.StdEncoding.DecodeString(saltB64)
		if err != nil || iter == 0 {
			t.Fatalf("cannot parse server verifier %q", stored)
		}
		got, err := postgres.ScramVerifierWithSalt(pw, salt, iter)
		if err != nil {
			t.Fatal(err)
		}
		if got != stored {
			t.Errorf("verifier of %q = %q, server computed %q", pw, got, stored)
		}
	}
}

func TestVerifier(t *testing.T) {
	tests := map[string]struct {
		enc, user, pw string
		want          string // "" = check the prefix only
		prefix        string
	}{
		// md5("postgres"+"postgres") and md5("it's\secret"+"bob"), from md5sum.
		"MD5":           {"md5", "postgres", "postgres", "md53175bce1d3201d16594cebf9d7eb3f9d", ""},
		"MD5Hostile":    {"md5", "bob", `it's\secret`, "md5ec493f86bd413e58d1d1ace6deab7902", ""},
		"MD5Pre10":      {"on", "postgres", "postgres", "md53175bce1d3201d16594cebf9d7eb3f9d", ""},
		"SCRAMASCII":    {"scram-sha-256", "u", "pw", "", "SCRAM-SHA-256$4096:"},
		"SCRAMUnicode":  {"scram-sha-256", "u", "pässwörd", "pässwörd", ""}, // the server applies SASLprep
		"PlainFallback": {"off", "u", "pw", "pw", ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := postgres.Verifier(tt.enc, tt.user, tt.pw)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("verifier = %q, want %q", got, tt.want)
			}
			if tt.prefix != "" && !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("verifier = %q, want prefix %q", got, tt.prefix)
			}
		})
	}
	if _, err := postgres.Verifier("scram-sha-256", "u", "a\x00b"); err == nil {
		t.Error("a password with NUL was accepted")
	}
}

// TestHostilePasswordsAndNames sets hostile passwords on roles with hostile
// names, as an administrator and as the role itself, and logs in with
// each.
func TestHostilePasswordsAndNames(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	d := postgres.Driver{}
	adminRole := builtintest.Unique("rotor_test_admin_")
	s.createRole(t, adminRole, "admin-pw", "CREATEROLE")
	admin, err := d.Connect(ctx, builtin.Conn{Host: s.host, Port: s.port, Username: adminRole, Password: "admin-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for i, user := range hostileUsers {
		user := user + builtintest.Unique("")
		s.createRole(t, user, "initial", "")
		for j, pw := range hostile {
			if (i+j)%2 == 0 {
				if err := admin.(builtin.Admin).SetPassword(ctx, user, pw); err != nil {
					t.Fatalf("SetPassword(%q): %v", user, err)
				}
			} else {
				prev := "initial"
				if j > 0 {
					prev = hostile[j-1]
				}
				sess, err := d.Connect(ctx, builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: prev})
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
			s.mustLogIn(t, user, pw, "postgres")
			if j > 0 {
				s.mustRefuse(t, user, hostile[j-1], "postgres")
			}
		}
	}
}

// TestConnectClassifiesRefusal: a wrong password, an unknown user or a
// database the user may not connect to is a refused login
// (builtin.IsLoginRefused), so the strategies try the next password; an
// unreachable server or a missing database is not.
func TestConnectClassifiesRefusal(t *testing.T) {
	s := newServer(t)
	noConnect, _ := s.createDB(t) // before the role, so dropped after it
	s.exec(t, "REVOKE CONNECT ON DATABASE "+postgres.Ident(noConnect)+" FROM PUBLIC")
	user := builtintest.Unique("rotor_test_class_")
	s.createRole(t, user, "right-pw", "")
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
		"NoConnect":       {builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "right-pw", Database: noConnect}, true},
		"UnknownUser":     {builtin.Conn{Host: s.host, Port: s.port, Username: user + "_nobody", Password: "right-pw"}, true},
		"ClosedPort":      {builtin.Conn{Host: "127.0.0.1", Port: closed, Username: user, Password: "right-pw"}, false},
		"MissingDatabase": {builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "right-pw", Database: user + "_nodb"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sess, err := postgres.Driver{}.Connect(context.Background(), tt.c)
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

func TestConnectRefused(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_refused_")
	s.createRole(t, user, "right-pw", "")
	_, err := postgres.Driver{}.Connect(context.Background(), builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "wrong-pw"})
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("Connect with a wrong password = %v, want a password authentication failure", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("error %q holds the password", err)
	}
}

// TestTLS goes through a TLS-terminating proxy in front of the server, as
// a PostgreSQL server with TLS behaves (SSLRequest, then the handshake).
func TestTLS(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_tls_")
	s.createRole(t, user, "tls-pw", "")
	caPEM, serverTLS := builtintest.NewCA(t)
	p := builtintest.NewProxy(t, s.url.Host, &builtintest.ProxyTLS{Config: serverTLS, Postgres: true})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	ctx := context.Background()

	sess, err := postgres.Driver{}.Connect(ctx, builtin.Conn{Host: p.Host(), Port: p.Port(), Username: user, Password: "tls-pw",
		TLS: &tls.Config{ServerName: p.Host(), RootCAs: pool}})
	if err != nil {
		t.Fatalf("connect over verified TLS: %v", err)
	}
	if who, err := sess.WhoAmI(ctx); err != nil || who != user {
		t.Errorf("WhoAmI = %q, %v", who, err)
	}
	sess.Close()

	_, err = postgres.Driver{}.Connect(ctx, builtin.Conn{Host: p.Host(), Port: p.Port(), Username: user, Password: "tls-pw",
		TLS: &tls.Config{ServerName: p.Host()}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("connect with an unknown CA = %v, want a certificate error", err)
	}
	_, err = postgres.Driver{}.Connect(ctx, builtin.Conn{Host: p.Host(), Port: p.Port(), Username: user, Password: "tls-pw"})
	if err == nil {
		t.Error("a plaintext connection went through a TLS-only endpoint")
	}
}
