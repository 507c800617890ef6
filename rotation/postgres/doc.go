// Package postgres is the PostgreSQL driver of Rotor's built-in rotation
// functions (package builtin), over pgx. It serves secrets whose "engine"
// is "postgres" or "aurora-postgresql".
//
// Passwords never travel to the server in clear text when it can be
// avoided: for an ASCII password and a server whose password_encryption is
// scram-sha-256 the driver sends a SCRAM-SHA-256 verifier it computed
// itself, and for md5 the md5 hash, as psql's \password does. So the
// password cannot appear in the server's statement log or in
// pg_stat_statements. Other passwords are sent as an escaped string
// literal (ALTER ROLE takes no bind parameters).
//
// The alternating-users clone is a member of the original role ("CREATE
// ROLE clone WITH LOGIN PASSWORD ... IN ROLE original"), so it holds every
// privilege of the original, including ones granted later, and owns
// nothing itself. Role attributes (CREATEDB, CONNECTION LIMIT, ...) and
// per-role settings (ALTER ROLE ... SET) are not copied. Objects the clone
// creates belong to the clone: clients that create objects should
// "SET ROLE original" first.
package postgres
