package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// DBSecret is a database secret in AWS's JSON shape (the shape AWS's
// rotation templates read and write):
//
//	{"engine":"postgres","host":"db.example","port":5432,"username":"app",
//	 "password":"...","dbname":"app","ssl":true,"masterarn":"arn:..."}
//
// Only password is required here; connectors require what their database
// needs. port may be a JSON number or a string. Its String, GoString and
// slog LogValue methods never show the password.
type DBSecret struct {
	Engine   string
	Host     string
	Port     int // 0 when absent
	Username string
	Password string
	DBName   string
	// SSL is the "ssl" key: nil when absent or not a boolean (AWS's
	// templates then try TLS and fall back to plaintext), otherwise the
	// explicit choice (JSON true/false or the strings "true"/"false",
	// any case).
	SSL       *bool
	MasterARN string
	// VersionID and VersionStages identify the version the secret was read
	// from (empty when parsed by ParseDBSecret).
	VersionID     string
	VersionStages []string
}

// String describes s without its password.
func (s DBSecret) String() string {
	return fmt.Sprintf("%s user %q at %s db %q (version %s)", s.Engine, s.Username, s.Addr(0), s.DBName, s.VersionID)
}

// GoString is String, so that %#v does not show the password either.
func (s DBSecret) GoString() string { return s.String() }

// LogValue makes slog log s without its password.
func (s DBSecret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Addr returns host:port, using defaultPort when the secret has no port.
func (s DBSecret) Addr(defaultPort int) string {
	p := s.Port
	if p == 0 {
		p = defaultPort
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(p))
}

// ParseDBSecret parses a SecretString in AWS's database-secret shape. It
// returns an error wrapping ErrNotDBSecret when value is not a JSON object,
// has no password, or has a port that is not a number; the error never
// quotes the value.
func ParseDBSecret(value string) (*DBSecret, error) {
	var raw struct {
		Engine    string          `json:"engine"`
		Host      string          `json:"host"`
		Port      json.RawMessage `json:"port"`
		Username  string          `json:"username"`
		Password  string          `json:"password"`
		DBName    string          `json:"dbname"`
		SSL       json.RawMessage `json:"ssl"`
		MasterARN string          `json:"masterarn"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		// The decoder's message may quote part of the value: drop it.
		return nil, fmt.Errorf("client: %w", ErrNotDBSecret)
	}
	if raw.Password == "" {
		return nil, fmt.Errorf("client: no password: %w", ErrNotDBSecret)
	}
	s := &DBSecret{Engine: raw.Engine, Host: raw.Host, Username: raw.Username, Password: raw.Password,
		DBName: raw.DBName, MasterARN: raw.MasterARN}
	if p := bytes.TrimSpace(raw.Port); len(p) > 0 && string(p) != "null" {
		var n json.Number
		if p[0] == '"' {
			var str string
			if err := json.Unmarshal(p, &str); err != nil {
				return nil, fmt.Errorf("client: port is not a number: %w", ErrNotDBSecret)
			}
			n = json.Number(strings.TrimSpace(str))
		} else {
			n = json.Number(p)
		}
		port, err := strconv.Atoi(n.String())
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("client: port is not a number: %w", ErrNotDBSecret)
		}
		s.Port = port
	}
	s.SSL = parseSSL(raw.SSL)
	return s, nil
}

// parseSSL reads the "ssl" key as AWS's templates do.
func parseSSL(v json.RawMessage) *bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return &b
	}
	var str string
	if err := json.Unmarshal(v, &str); err == nil {
		switch strings.ToLower(strings.TrimSpace(str)) {
		case "true":
			b = true
			return &b
		case "false":
			return &b
		}
	}
	return nil
}

// GetDBSecret reads a secret like GetSecretString and parses it with
// ParseDBSecret, recording the version it came from. Errors: those of
// GetSecretString and ParseDBSecret (the latter wrapped with the secret id).
func (c *Cache) GetDBSecret(ctx context.Context, secretID string, opts ...GetOption) (*DBSecret, error) {
	v, err := c.GetSecretValue(ctx, secretID, opts...)
	if err != nil {
		return nil, err
	}
	if v.SecretString == nil {
		return nil, wrap(ErrBinary, secretID, "version "+v.VersionID, nil)
	}
	s, err := ParseDBSecret(*v.SecretString)
	if err != nil {
		return nil, fmt.Errorf("client: secret %q version %s: %w", secretID, v.VersionID, err)
	}
	s.VersionID, s.VersionStages = v.VersionID, v.VersionStages
	return s, nil
}
