package postgres

import (
	"crypto/hmac"
	"crypto/md5" // #nosec G501 -- PostgreSQL's md5 password format, used only when the server asks for it
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ident quotes name as an SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes s as an escape-string constant (E'...'), whose
// meaning does not depend on standard_conforming_strings: backslashes and
// quotes are doubled. s must not contain NUL, which PostgreSQL strings
// cannot hold.
func quoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// verifier returns what to store as user's password given the server's
// password_encryption: a SCRAM-SHA-256 verifier for an ASCII password (for
// which SASLprep changes nothing), an md5 hash, or else the password itself
// for the server to hash.
func verifier(encryption, user, password string) (string, error) {
	if strings.ContainsRune(password, 0) {
		return "", fmt.Errorf("a PostgreSQL password cannot contain NUL")
	}
	switch encryption {
	case "scram-sha-256":
		for i := 0; i < len(password); i++ {
			if password[i] >= 0x80 {
				return password, nil
			}
		}
		return scramVerifier(password, scramIterations)
	case "md5", "on": // "on" is md5 before PostgreSQL 10
		sum := md5.Sum([]byte(password + user)) // #nosec G401
		return "md5" + hex.EncodeToString(sum[:]), nil
	}
	return password, nil
}

// scramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores
// (RFC 5802/7677): SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func scramVerifier(password string, iterations int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("generate salt: %w", err)
	}
	return scramVerifierWithSalt(password, salt, iterations)
}

func scramVerifierWithSalt(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("derive key: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}
