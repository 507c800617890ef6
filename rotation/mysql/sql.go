package mysql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// dialect is what the driver needs to know about a server to write its SQL.
// Statements are written out in full, passwords as escaped string literals:
// MariaDB cannot prepare ALTER USER/SET PASSWORD with placeholders, and a
// literal keeps the generated SQL testable without a server.
type dialect struct {
	mariaDB bool
	// major, minor, patch are the server's version (MariaDB's own numbering
	// for MariaDB).
	major, minor, patch int
	// noBackslashEscapes is true when the session's sql_mode has
	// NO_BACKSLASH_ESCAPES: backslash is then an ordinary character in
	// string literals.
	noBackslashEscapes bool
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// newDialect reads SELECT VERSION() and @@SESSION.sql_mode. MariaDB 10
// servers that announce themselves as "5.5.5-10.x.y-MariaDB" are handled.
func newDialect(version, sqlMode string) dialect {
	d := dialect{mariaDB: strings.Contains(strings.ToLower(version), "mariadb")}
	v := strings.TrimPrefix(version, "5.5.5-")
	if m := versionRE.FindStringSubmatch(v); m != nil {
		d.major, _ = strconv.Atoi(m[1])
		d.minor, _ = strconv.Atoi(m[2])
		d.patch, _ = strconv.Atoi(m[3])
	}
	for _, m := range strings.Split(sqlMode, ",") {
		if strings.EqualFold(strings.TrimSpace(m), "NO_BACKSLASH_ESCAPES") {
			d.noBackslashEscapes = true
		}
	}
	return d
}

// atLeast reports whether the version is at least major.minor.patch.
func (d dialect) atLeast(major, minor, patch int) bool {
	if d.major != major {
		return d.major > major
	}
	if d.minor != minor {
		return d.minor > minor
	}
	return d.patch >= patch
}

// hasAlterUserPassword reports whether ALTER USER ... IDENTIFIED BY is
// available: MySQL 5.7.6 and later, MariaDB 10.2 and later.
func (d dialect) hasAlterUserPassword() bool {
	if d.mariaDB {
		return d.atLeast(10, 2, 0)
	}
	return d.atLeast(5, 7, 6)
}

// defaultMaxUsernameLength is the limit when the server cannot be asked:
// MariaDB 80 characters, MySQL 32 since 5.7.8 and 16 before.
func (d dialect) defaultMaxUsernameLength() int {
	switch {
	case d.mariaDB:
		return 80
	case d.atLeast(5, 7, 8):
		return 32
	}
	return 16
}

// quoteIdent quotes s with backticks, which works for account names in
// every statement, whatever the sql_mode.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// account renders 'user'@'host' as `user`@`host`.
func account(user, host string) string { return quoteIdent(user) + "@" + quoteIdent(host) }

// literal quotes s as a string literal for this session's sql_mode.
func (d dialect) literal(s string) string {
	if d.noBackslashEscapes {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "'" + strings.NewReplacer(
		`\`, `\\`, `'`, `\'`, `"`, `\"`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`,
	).Replace(s) + "'"
}

// changeOwnPassword changes the session user's own password, which needs
// no privilege: MariaDB SET PASSWORD = PASSWORD(...); MySQL 5.7.6+
// ALTER USER USER() IDENTIFIED BY ...; older MySQL SET PASSWORD =
// PASSWORD(...).
func (d dialect) changeOwnPassword(password string) string {
	if !d.mariaDB && d.hasAlterUserPassword() {
		return "ALTER USER USER() IDENTIFIED BY " + d.literal(password)
	}
	return "SET PASSWORD = PASSWORD(" + d.literal(password) + ")"
}

// setPassword sets another account's password: MariaDB SET PASSWORD FOR
// ... = PASSWORD(...); MySQL 5.7.6+ ALTER USER ... IDENTIFIED BY ...
// (which keeps the account's authentication plugin); older MySQL SET
// PASSWORD FOR ... = PASSWORD(...).
func (d dialect) setPassword(user, host, password string) string {
	if !d.mariaDB && d.hasAlterUserPassword() {
		return "ALTER USER " + account(user, host) + " IDENTIFIED BY " + d.literal(password)
	}
	return "SET PASSWORD FOR " + account(user, host) + " = PASSWORD(" + d.literal(password) + ")"
}

// passwordPlugins are the MySQL authentication plugins that take a
// password and whose name createUser copies from the original account.
var passwordPlugins = map[string]bool{
	"caching_sha2_password": true,
	"mysql_native_password": true,
	"sha256_password":       true,
}

// createUser creates an account with a password. On MySQL 8 and later the
// original's authentication plugin is named when it is a password plugin
// (so a clone of a mysql_native_password user keeps working with old
// clients); otherwise the server's default plugin is used.
func (d dialect) createUser(user, host, plugin, password string) string {
	s := "CREATE USER " + account(user, host) + " IDENTIFIED"
	if !d.mariaDB && d.major >= 8 && passwordPlugins[plugin] {
		s += " WITH " + plugin
	}
	return s + " BY " + d.literal(password)
}

// tlsRequirement is an account's TLS requirement as mysql.user stores it.
type tlsRequirement struct {
	SSLType, Cipher, Issuer, Subject string
}

// require returns the statement giving an account the TLS requirement r:
// ALTER USER ... REQUIRE ... (MySQL 5.7.6+, MariaDB 10.2+), or GRANT
// USAGE ON *.* TO ... REQUIRE ... before that.
func (d dialect) require(user, host string, r tlsRequirement) string {
	clause := "NONE"
	switch strings.ToUpper(r.SSLType) {
	case "ANY":
		clause = "SSL"
	case "X509":
		clause = "X509"
	case "SPECIFIED":
		var parts []string
		for _, p := range []struct{ kw, v string }{{"CIPHER", r.Cipher}, {"ISSUER", r.Issuer}, {"SUBJECT", r.Subject}} {
			if p.v != "" {
				parts = append(parts, p.kw+" "+d.literal(p.v))
			}
		}
		clause = "SSL"
		if len(parts) > 0 {
			clause = strings.Join(parts, " AND ")
		}
	}
	if d.hasAlterUserPassword() {
		return "ALTER USER " + account(user, host) + " REQUIRE " + clause
	}
	return "GRANT USAGE ON *.* TO " + account(user, host) + " REQUIRE " + clause
}

// setDefaultRoles makes roles (user, host pairs) the default roles of an
// account (MySQL 8; MariaDB lists its default role in SHOW GRANTS).
func setDefaultRoles(user, host string, roles [][2]string) string {
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = account(r[0], r[1])
	}
	return "SET DEFAULT ROLE " + strings.Join(rs, ", ") + " TO " + account(user, host)
}

// grantees lists how SHOW GRANTS may render the account user@host:
// MySQL 8 and MariaDB use backticks, MySQL 5.7 single quotes.
func grantees(user, host string) []string {
	sq := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	bs := func(s string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
	}
	return []string{account(user, host), sq(user) + "@" + sq(host), bs(user) + "@" + bs(host)}
}

// rewriteGrant turns one line of SHOW GRANTS FOR user@host into the
// statement that gives the same to the account clone@cloneHost. It returns
// "" for lines with nothing to copy (GRANT USAGE ON *.* without the grant
// option). Authentication
// (IDENTIFIED ...), TLS (REQUIRE ...) and resource limits are dropped from
// the line; WITH GRANT OPTION and WITH ADMIN OPTION are kept. MySQL 8's
// partial revokes (REVOKE ... FROM) and MariaDB's SET DEFAULT ROLE ... FOR
// are rewritten too. Lines of any other form are an error.
func rewriteGrant(line, user, host, clone, cloneHost string) (string, error) {
	line = strings.TrimSpace(line)
	var sep string
	switch {
	case hasPrefixFold(line, "GRANT "):
		sep = " TO "
	case hasPrefixFold(line, "REVOKE "):
		sep = " FROM "
	case hasPrefixFold(line, "SET DEFAULT ROLE "):
		sep = " FOR "
	default:
		return "", fmt.Errorf("cannot copy grant %q: unknown form", truncate(line))
	}
	at, end := -1, -1
	for _, g := range grantees(user, host) {
		if i := strings.LastIndex(line, sep+g); i > at {
			at, end = i, i+len(sep+g)
		}
	}
	if at < 0 || (end < len(line) && line[end] != ' ') {
		return "", fmt.Errorf("cannot copy grant %q: grantee not found", truncate(line))
	}
	prefix, rest := line[:at], unquoted(line[end:])
	upper := strings.ToUpper(rest)
	grantOption := strings.Contains(upper, "WITH GRANT OPTION")
	if sep == " TO " && !grantOption && strings.EqualFold(strings.Join(strings.Fields(prefix), " "), "GRANT USAGE ON *.*") {
		return "", nil
	}
	out := prefix + sep + account(clone, cloneHost)
	if grantOption {
		out += " WITH GRANT OPTION"
	}
	if strings.Contains(upper, "WITH ADMIN OPTION") {
		out += " WITH ADMIN OPTION"
	}
	return out, nil
}

// unquoted returns s with the contents of quoted strings and identifiers
// removed, so keywords inside them are not seen.
func unquoted(s string) string {
	var b strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == 0 && (c == '\'' || c == '"' || c == '`'):
			q = c
			b.WriteByte(c)
		case q != 0 && c == '\\' && q != '`':
			i++
		case q != 0 && c == q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			q = 0
			b.WriteByte(c)
		case q == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// truncate shortens a grant line for messages (they may be long, and they
// never hold a password: SHOW GRANTS prints hashes at most, which are
// dropped here anyway).
func truncate(s string) string {
	if i := strings.Index(strings.ToUpper(s), " IDENTIFIED"); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
