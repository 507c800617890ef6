// Package admin implements rotor.AdminService, Rotor's own API: identities
// and access keys (through package auth), key-encryption-key rotation and
// retirement, and database backups.
//
// Every method first authorizes the caller found in the context
// (rotor.CallerFrom) for the action "rotor:<Method>" with no resource;
// of the built-in role documents only RoleAdmin's allows it (an identity
// policy may allow it too). A context without a caller
// is refused with EAUTHMISSING.
//
// Backups leave the server in two ways only: DownloadBackup hands the
// caller a snapshot to stream, and Backup writes one into the configured
// backup directory (Config.BackupDir), refusing every path that leads
// elsewhere. Both copy the store as it is, values sealed.
package admin
