package mysql_test

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotation/mysql"
)

// The statements below are the ones the driver sends to servers that are
// not at hand in the tests (MySQL 5.6, 5.7, 8, 9); MariaDB's are also run
// against a real server in the integration tests.

var (
	mysql56 = mysql.NewDialect("5.6.51-log", "STRICT_TRANS_TABLES")
	mysql57 = mysql.NewDialect("5.7.44", "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES")
	mysql8  = mysql.NewDialect("8.0.36", "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION")
	mysql9  = mysql.NewDialect("9.1.0", "")
	mysql8N = mysql.NewDialect("8.4.2", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES")
	maria   = mysql.NewDialect("10.11.6-MariaDB-0+deb12u1", "STRICT_TRANS_TABLES")
	maria4  = mysql.NewDialect("5.5.5-10.4.12-MariaDB-log", "")
	maria1  = mysql.NewDialect("10.1.48-MariaDB", "")
)

func TestLiteral(t *testing.T) {
	in := "it's \"q\" \\ ; \x00\n\r\x1a ü$$"
	tests := map[string]struct {
		d    mysql.Dialect
		want string
	}{
		"Backslash":   {mysql8, `'it\'s \"q\" \\ ; \0\n\r\Z ü$$'`},
		"NoBackslash": {mysql8N, "'it''s \"q\" \\ ; \x00\n\r\x1a ü$$'"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.d.Literal(in); got != tt.want {
				t.Errorf("Literal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	if got, want := mysql.Account("o'b`r\\", "%"), "`o'b``r\\`@`%`"; got != want {
		t.Errorf("Account = %q, want %q", got, want)
	}
}

func TestPasswordStatements(t *testing.T) {
	const pw = `p'w\`
	tests := map[string]struct {
		d                 mysql.Dialect
		own, set, create  string
		createWithPlugin  string // the original uses mysql_native_password
		maxUsernameLength int
	}{
		"MySQL8": {mysql8,
			`ALTER USER USER() IDENTIFIED BY 'p\'w\\'`,
			"ALTER USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED WITH mysql_native_password BY 'p\\'w\\\\'",
			32},
		"MySQL8NoBackslashEscapes": {mysql8N,
			`ALTER USER USER() IDENTIFIED BY 'p''w\'`,
			"ALTER USER `app`@`%` IDENTIFIED BY 'p''w\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p''w\\'",
			"CREATE USER `app`@`%` IDENTIFIED WITH mysql_native_password BY 'p''w\\'",
			32},
		"MySQL9": {mysql9,
			`ALTER USER USER() IDENTIFIED BY 'p\'w\\'`,
			"ALTER USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED WITH mysql_native_password BY 'p\\'w\\\\'",
			32},
		"MySQL57": {mysql57,
			`ALTER USER USER() IDENTIFIED BY 'p\'w\\'`,
			"ALTER USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			32},
		"MySQL56": {mysql56,
			`SET PASSWORD = PASSWORD('p\'w\\')`,
			"SET PASSWORD FOR `app`@`%` = PASSWORD('p\\'w\\\\')",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			16},
		"MariaDB": {maria,
			`SET PASSWORD = PASSWORD('p\'w\\')`,
			"SET PASSWORD FOR `app`@`%` = PASSWORD('p\\'w\\\\')",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			"CREATE USER `app`@`%` IDENTIFIED BY 'p\\'w\\\\'",
			80},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.d.ChangeOwnPassword(pw); got != tt.own {
				t.Errorf("ChangeOwnPassword = %s, want %s", got, tt.own)
			}
			if got := tt.d.SetPassword("app", "%", pw); got != tt.set {
				t.Errorf("SetPassword = %s, want %s", got, tt.set)
			}
			if got := tt.d.CreateUser("app", "%", "", pw); got != tt.create {
				t.Errorf("CreateUser = %s, want %s", got, tt.create)
			}
			if got := tt.d.CreateUser("app", "%", "mysql_native_password", pw); got != tt.createWithPlugin {
				t.Errorf("CreateUser(mysql_native_password) = %s, want %s", got, tt.createWithPlugin)
			}
			if got := tt.d.DefaultMaxUsernameLength(); got != tt.maxUsernameLength {
				t.Errorf("DefaultMaxUsernameLength = %d, want %d", got, tt.maxUsernameLength)
			}
		})
	}
	// A plugin that does not take a password is never named.
	if got := mysql8.CreateUser("app", "%", "auth_socket", "x"); strings.Contains(got, "auth_socket") {
		t.Errorf("CreateUser copied a non-password plugin: %s", got)
	}
}

func TestRequire(t *testing.T) {
	tests := map[string]struct {
		d    mysql.Dialect
		r    mysql.TLSRequirement
		want string
	}{
		"None":        {mysql8, mysql.TLSRequirement{}, "ALTER USER `c`@`%` REQUIRE NONE"},
		"SSL":         {mysql8, mysql.TLSRequirement{SSLType: "ANY"}, "ALTER USER `c`@`%` REQUIRE SSL"},
		"X509":        {maria, mysql.TLSRequirement{SSLType: "X509"}, "ALTER USER `c`@`%` REQUIRE X509"},
		"Specified":   {mysql8, mysql.TLSRequirement{SSLType: "SPECIFIED", Cipher: "ECDHE-RSA-AES256-GCM-SHA384", Subject: "/CN=o'b"}, "ALTER USER `c`@`%` REQUIRE CIPHER 'ECDHE-RSA-AES256-GCM-SHA384' AND SUBJECT '/CN=o\\'b'"},
		"IssuerOnly":  {mysql57, mysql.TLSRequirement{SSLType: "SPECIFIED", Issuer: "/CN=CA"}, "ALTER USER `c`@`%` REQUIRE ISSUER '/CN=CA'"},
		"MySQL56":     {mysql56, mysql.TLSRequirement{SSLType: "ANY"}, "GRANT USAGE ON *.* TO `c`@`%` REQUIRE SSL"},
		"MariaDB10.1": {maria1, mysql.TLSRequirement{SSLType: "X509"}, "GRANT USAGE ON *.* TO `c`@`%` REQUIRE X509"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.d.Require("c", "%", tt.r); got != tt.want {
				t.Errorf("Require = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSetDefaultRoles(t *testing.T) {
	got := mysql.SetDefaultRoles("app_clone", "%", [][2]string{{"reader", "%"}, {"writer", "localhost"}})
	if want := "SET DEFAULT ROLE `reader`@`%`, `writer`@`localhost` TO `app_clone`@`%`"; got != want {
		t.Errorf("SetDefaultRoles = %s, want %s", got, want)
	}
}

func TestRewriteGrant(t *testing.T) {
	tests := map[string]struct {
		line, user, host string
		want             string
	}{
		"MySQL8Table":     {"GRANT SELECT, INSERT ON `shop`.`orders` TO `app`@`%`", "app", "%", "GRANT SELECT, INSERT ON `shop`.`orders` TO `app_clone`@`%`"},
		"MySQL8Columns":   {"GRANT SELECT (`id`, `name`) ON `shop`.`t` TO `app`@`%`", "app", "%", "GRANT SELECT (`id`, `name`) ON `shop`.`t` TO `app_clone`@`%`"},
		"MySQL8Usage":     {"GRANT USAGE ON *.* TO `app`@`%`", "app", "%", ""},
		"MySQL8Dynamic":   {"GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `app`@`%` WITH GRANT OPTION", "app", "%", "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `app_clone`@`%` WITH GRANT OPTION"},
		"MySQL8Role":      {"GRANT `reader`@`%`,`writer`@`%` TO `app`@`%` WITH ADMIN OPTION", "app", "%", "GRANT `reader`@`%`,`writer`@`%` TO `app_clone`@`%` WITH ADMIN OPTION"},
		"MySQL8Revoke":    {"REVOKE INSERT ON `mysql`.* FROM `app`@`%`", "app", "%", "REVOKE INSERT ON `mysql`.* FROM `app_clone`@`%`"},
		"MySQL8Procedure": {"GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `app`@`localhost`", "app", "localhost", "GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `app_clone`@`localhost`"},
		"MySQL57Quotes":   {"GRANT SELECT ON `shop`.* TO 'app'@'%' WITH GRANT OPTION", "app", "%", "GRANT SELECT ON `shop`.* TO `app_clone`@`%` WITH GRANT OPTION"},
		"MySQL57Escaped":  {`GRANT SELECT ON *.* TO 'o\'b'@'%'`, "o'b", "%", "GRANT SELECT ON *.* TO `app_clone`@`%`"},
		"MariaDBUsage":    {"GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*A4B6157319038724E3560894F7F932C8886EBFCF'", "app", "%", ""},
		"MariaDBIdentifiedWithGrant": {"GRANT ALL PRIVILEGES ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*A4B6' WITH GRANT OPTION", "app", "%",
			"GRANT ALL PRIVILEGES ON *.* TO `app_clone`@`%` WITH GRANT OPTION"},
		"MariaDBVia":    {"GRANT SELECT ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING 'WITH GRANT OPTION'", "app", "%", "GRANT SELECT ON *.* TO `app_clone`@`%`"},
		"MariaDBLimits": {"GRANT USAGE ON *.* TO `app`@`%` WITH GRANT OPTION MAX_QUERIES_PER_HOUR 10", "app", "%", "GRANT USAGE ON *.* TO `app_clone`@`%` WITH GRANT OPTION"},
		"MariaDBHostileName": {"GRANT SELECT ON `mysql`.`db` TO `o'b``r`@`%` WITH GRANT OPTION", "o'b`r", "%",
			"GRANT SELECT ON `mysql`.`db` TO `app_clone`@`%` WITH GRANT OPTION"},
		"MariaDBRole":        {"GRANT `reader` TO `app`@`%`", "app", "%", "GRANT `reader` TO `app_clone`@`%`"},
		"MariaDBDefaultRole": {"SET DEFAULT ROLE `reader` FOR `app`@`%`", "app", "%", "SET DEFAULT ROLE `reader` FOR `app_clone`@`%`"},
		"Proxy":              {"GRANT PROXY ON ``@`%` TO `app`@`%`", "app", "%", "GRANT PROXY ON ``@`%` TO `app_clone`@`%`"},
		// The grantee's text inside a database name is not the grantee.
		"GranteeInName": {"GRANT SELECT ON `x TO ``app``@``%`` y`.* TO `app`@`%`", "app", "%", "GRANT SELECT ON `x TO ``app``@``%`` y`.* TO `app_clone`@`%`"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := mysql.RewriteGrant(tt.line, tt.user, tt.host, "app_clone", tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RewriteGrant(%s) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
	for name, line := range map[string]string{
		"UnknownForm":      "CREATE USER `app`@`%`",
		"OtherGrantee":     "GRANT SELECT ON *.* TO `root`@`%`",
		"GranteePrefix":    "GRANT SELECT ON *.* TO `app`@`%x`",
		"OtherHost":        "GRANT SELECT ON *.* TO `app`@`localhost`",
		"PasswordNotShown": "GRANT SELECT ON *.* TO `bob`@`%` IDENTIFIED BY PASSWORD '*SECRETHASH'",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			_, err := mysql.RewriteGrant(line, "app", "%", "app_clone", "%")
			if err == nil {
				t.Fatalf("RewriteGrant(%s) succeeded", line)
			}
			if strings.Contains(err.Error(), "SECRETHASH") {
				t.Errorf("error %q shows the password hash", err)
			}
		})
	}
}
