// Package mysql is the MySQL and MariaDB driver of Rotor's built-in
// rotation functions (package builtin), over go-sql-driver/mysql. One
// driver serves both: it asks the server for its version and sql_mode when
// it connects and writes each statement in that server's dialect: MariaDB
// "SET PASSWORD [FOR user] = PASSWORD(...)", MySQL 5.7.6 and later
// (8, 9) "ALTER USER ... IDENTIFIED BY ...", older MySQL "SET PASSWORD =
// PASSWORD(...)". Passwords travel as string literals escaped for the
// session's sql_mode (with or without NO_BACKSLASH_ESCAPES), because
// MariaDB cannot prepare these statements with placeholders; account names
// are quoted with backticks. MySQL() serves secrets whose "engine" is
// "mysql" or "aurora-mysql", MariaDB() those whose engine is "mariadb".
//
// A MySQL user name may exist for several hosts ('app'@'%',
// 'app'@'localhost'). The single-user strategy changes the password of the
// account the server matched at login; as administrator (alternating
// users) the driver changes the password of every account with the user
// name, and clones each of them. A clone gets, per host, the
// original's grants (every line of SHOW GRANTS, re-issued for the clone,
// including role grants, MariaDB's default role and MySQL 8's partial
// revokes), its TLS requirement (REQUIRE ...), on MySQL 8 its default
// roles and its authentication plugin. Grants are re-issued on every
// rotation, so privileges granted to the original later reach the clone;
// privileges revoked from the original are not revoked from the clone
// (which may be in use): revoke them from both users.
package mysql
