package builtin

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rotorhq/rotor"
)

// Keys of the secret JSON the database strategies read. The first eight
// are AWS's (aws-api.md §7.1), so secrets made for AWS's rotation
// templates work unchanged; the "rotor:" keys are Rotor's own and optional.
const (
	KeyEngine    = "engine"
	KeyHost      = "host"
	KeyPort      = "port" // a number or a string holding one
	KeyUsername  = "username"
	KeyPassword  = "password"
	KeyDBName    = "dbname"
	KeyMasterARN = "masterarn"
	// KeySSL is true/false (a JSON boolean or the strings "true"/"false");
	// absent or anything else means the engine's default (Engine.
	// DefaultSSLMode): "prefer", as in AWS's templates, except for Redis.
	KeySSL = "ssl"
	// KeySSLMode overrides KeySSL: "disable", "prefer" (TLS with
	// verification, falling back to plaintext if that fails), "require"
	// (TLS without certificate verification) or "verify-full" (TLS with
	// verification of the chain and the host name).
	KeySSLMode = "rotor:sslmode"
	// KeySSLCA holds PEM certificates to trust instead of the system's
	// roots when verifying the target's certificate.
	KeySSLCA = "rotor:ssl_ca"
	// KeyExcludeCharacters replaces the function's set of characters new
	// passwords must not contain.
	KeyExcludeCharacters = "rotor:exclude_characters"
	// KeyPasswordLength replaces the function's password length (1-4096).
	KeyPasswordLength = "rotor:password_length"
)

// TLS modes (values of KeySSLMode).
const (
	SSLDisable    = "disable"
	SSLPrefer     = "prefer"
	SSLRequire    = "require"
	SSLVerifyFull = "verify-full"
)

// dbSecret is a parsed database secret. obj keeps the value as written,
// so createSecret changes only what it means to change.
type dbSecret struct {
	obj       *object
	raw       map[string]json.RawMessage // obj's members by key
	label     string                     // which secret this is, for messages: "AWSCURRENT", "master"
	Engine    string
	Host      string
	Port      int
	Username  string
	Password  string
	DBName    string
	MasterARN string
	SSLMode   string
	CA        *x509.CertPool
}

func invalidf(format string, args ...any) error { return rotor.Errorf(rotor.EINVALID, format, args...) }

// parseObject decodes s as a JSON object, keeping it as written. It
// refuses (EINVALID) anything else and an object with a key twice.
func parseObject(label, s string) (*object, map[string]json.RawMessage, error) {
	obj, err := parseObjectExact(s)
	if errors.Is(err, errDuplicateKey) {
		return nil, nil, invalidf("%s secret value has a %s: its meaning is ambiguous", label, err)
	} else if err != nil {
		return nil, nil, invalidf("%s secret value is not a JSON object", label)
	}
	raw := make(map[string]json.RawMessage, len(obj.members))
	for _, m := range obj.members {
		raw[m.key] = json.RawMessage(obj.src[m.start:m.end])
	}
	return obj, raw, nil
}

// parseSecret parses a secret the engine e rotates: engine, host, username
// and password are required; the engine must be one e accepts.
func parseSecret(e Engine, label, s string) (*dbSecret, error) {
	obj, raw, err := parseObject(label, s)
	if err != nil {
		return nil, err
	}
	d := &dbSecret{obj: obj, raw: raw, label: label}
	for _, k := range []string{KeyEngine, KeyHost, KeyUsername, KeyPassword} {
		if _, ok := raw[k]; !ok {
			return nil, invalidf("%s secret: %q key is missing from secret JSON", label, k)
		}
	}
	if err := d.decode(e); err != nil {
		return nil, err
	}
	if !slices.Contains(e.Engines, d.Engine) {
		return nil, invalidf("%s secret: database engine must be set to %s in order to use this rotation function, not %q",
			label, quoteList(e.Engines), d.Engine)
	}
	return d, nil
}

// parseMaster parses the administrator secret named by masterarn. Only
// username and password are required; engine, host and port, when present,
// must name the same server as cur (the secret being rotated), and default
// to cur's. The database is cur's, as in AWS's templates; TLS settings
// default to cur's.
func parseMaster(e Engine, s string, cur *dbSecret) (*dbSecret, error) {
	const label = "master"
	obj, raw, err := parseObject(label, s)
	if err != nil {
		return nil, err
	}
	d := &dbSecret{obj: obj, raw: raw, label: label}
	for _, k := range []string{KeyUsername, KeyPassword} {
		if _, ok := raw[k]; !ok {
			return nil, invalidf("master secret: %q key is missing from secret JSON", k)
		}
	}
	if err := d.decode(e); err != nil {
		return nil, err
	}
	if _, ok := raw[KeyEngine]; ok && !slices.Contains(e.Engines, d.Engine) {
		return nil, invalidf("master secret: database engine must be set to %s in order to use this rotation function, not %q",
			quoteList(e.Engines), d.Engine)
	}
	if _, ok := raw[KeyHost]; !ok {
		d.Host = cur.Host
	} else if !strings.EqualFold(d.Host, cur.Host) {
		return nil, rotor.Errorf(rotor.EPRECONDITION, "master secret is for host %q, but the secret being rotated is for host %q", d.Host, cur.Host)
	}
	if _, ok := raw[KeyPort]; !ok {
		d.Port = cur.Port
	} else if d.Port != cur.Port {
		return nil, rotor.Errorf(rotor.EPRECONDITION, "master secret is for port %d, but the secret being rotated is for port %d", d.Port, cur.Port)
	}
	d.Engine = cur.Engine
	d.DBName = cur.DBName
	_, hasSSL := raw[KeySSL]
	_, hasMode := raw[KeySSLMode]
	if !hasSSL && !hasMode {
		d.SSLMode = cur.SSLMode
	}
	if _, ok := raw[KeySSLCA]; !ok {
		d.CA = cur.CA
	}
	return d, nil
}

// decode fills d's fields from d.raw, applying e's defaults.
func (d *dbSecret) decode(e Engine) error {
	str := func(k string, dst *string) error {
		v, ok := d.raw[k]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return invalidf("%s secret: %q must be a string", d.label, k)
		}
		return nil
	}
	for k, dst := range map[string]*string{KeyEngine: &d.Engine, KeyHost: &d.Host, KeyUsername: &d.Username,
		KeyPassword: &d.Password, KeyDBName: &d.DBName, KeyMasterARN: &d.MasterARN} {
		if err := str(k, dst); err != nil {
			return err
		}
	}
	if _, ok := d.raw[KeyHost]; ok && d.Host == "" {
		return invalidf("%s secret: %q must not be empty", d.label, KeyHost)
	}
	if _, ok := d.raw[KeyUsername]; ok && d.Username == "" {
		return invalidf("%s secret: %q must not be empty", d.label, KeyUsername)
	}
	if strings.ContainsRune(d.Password, 0) || strings.ContainsRune(d.Username, 0) {
		return invalidf("%s secret: user names and passwords must not contain NUL characters", d.label)
	}
	if d.DBName == "" {
		d.DBName = e.DefaultDatabase
	}
	d.Port = e.DefaultPort
	if v, ok := d.raw[KeyPort]; ok {
		p, err := intValue(v)
		if err != nil || p < 1 || p > 65535 {
			return invalidf("%s secret: %q must be a port number (1-65535) or a string holding one", d.label, KeyPort)
		}
		d.Port = p
	}
	d.SSLMode = e.DefaultSSLMode
	if d.SSLMode == "" {
		d.SSLMode = SSLPrefer
	}
	if v, ok := d.raw[KeySSL]; ok {
		var b bool
		var s string
		if json.Unmarshal(v, &b) == nil {
			s = strconv.FormatBool(b)
		} else if json.Unmarshal(v, &s) != nil {
			s = ""
		}
		switch strings.ToLower(s) {
		case "true":
			d.SSLMode = SSLVerifyFull
		case "false":
			d.SSLMode = SSLDisable
		}
	}
	if v, ok := d.raw[KeySSLMode]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || !slices.Contains([]string{SSLDisable, SSLPrefer, SSLRequire, SSLVerifyFull}, s) {
			return invalidf("%s secret: %q must be one of %q, %q, %q or %q", d.label, KeySSLMode, SSLDisable, SSLPrefer, SSLRequire, SSLVerifyFull)
		}
		d.SSLMode = s
	}
	if v, ok := d.raw[KeySSLCA]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return invalidf("%s secret: %q must be a string of PEM certificates", d.label, KeySSLCA)
		}
		d.CA = x509.NewCertPool()
		if !d.CA.AppendCertsFromPEM([]byte(s)) {
			return invalidf("%s secret: %q holds no PEM certificate", d.label, KeySSLCA)
		}
	}
	return nil
}

// intValue decodes a JSON number or a string holding an integer.
func intValue(v json.RawMessage) (int, error) {
	var f float64
	if err := json.Unmarshal(v, &f); err == nil {
		if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
			return 0, fmt.Errorf("not an integer")
		}
		return int(f), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(s))
}

// with returns the secret's JSON with username and password replaced and
// every other byte as written (key order, number literals, escapes).
func (d *dbSecret) with(username, password string) (string, error) {
	out, err := d.obj.with(field{KeyUsername, username}, field{KeyPassword, password})
	if err != nil {
		return "", fmt.Errorf("encode secret JSON: %w", err)
	}
	return out, nil
}

// marshalCompact encodes v as JSON without HTML escaping or a newline.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// tlsAttempts lists the TLS configurations to try in order; nil means
// plaintext.
func (d *dbSecret) tlsAttempts() []*tls.Config {
	verify := func() *tls.Config {
		return &tls.Config{ServerName: d.Host, RootCAs: d.CA, MinVersion: tls.VersionTLS12}
	}
	switch d.SSLMode {
	case SSLDisable:
		return []*tls.Config{nil}
	case SSLRequire:
		return []*tls.Config{{ServerName: d.Host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // #nosec G402 -- the operator asked for TLS without verification
	case SSLVerifyFull:
		return []*tls.Config{verify()}
	default: // prefer
		return []*tls.Config{verify(), nil}
	}
}

// conn is the connection for d over t.
func (d *dbSecret) conn(t *tls.Config) Conn {
	return Conn{Host: d.Host, Port: d.Port, Username: d.Username, Password: d.Password, Database: d.DBName, TLS: t, Timeout: DefaultTimeout}
}

// where names d's target in messages.
func (d *dbSecret) where() string {
	return fmt.Sprintf("%s:%d", d.Host, d.Port)
}

// quoteList renders ["a","b"] as `"a" or "b"`.
func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	switch len(q) {
	case 0:
		return `""`
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// altUsername returns the alternate of name: name without its "_clone"
// suffix, or name with "_clone" appended.
func altUsername(name string) string {
	if base, ok := strings.CutSuffix(name, cloneSuffix); ok && base != "" {
		return base
	}
	return name + cloneSuffix
}

// cloneSuffix marks the second user of the alternating-users strategy.
const cloneSuffix = "_clone"

// PasswordSpecFor returns base with the secret's overrides applied: a
// JSON-object secret may set KeyExcludeCharacters (a string) and
// KeyPasswordLength (1-4096, a number or a string holding one). Other
// values leave base unchanged. It returns EINVALID when an override has the
// wrong type or range.
func PasswordSpecFor(base rotor.PasswordSpec, secret string) (rotor.PasswordSpec, error) {
	var raw map[string]json.RawMessage
	if json.Unmarshal([]byte(secret), &raw) != nil {
		return base, nil
	}
	if v, ok := raw[KeyExcludeCharacters]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return base, invalidf("%q must be a string", KeyExcludeCharacters)
		}
		base.ExcludeCharacters = s
	}
	if v, ok := raw[KeyPasswordLength]; ok {
		n, err := intValue(v)
		if err != nil || n < 1 || n > 4096 {
			return base, invalidf("%q must be a number from 1 to 4096", KeyPasswordLength)
		}
		base.Length = int64(n)
	}
	return base, nil
}
