package main

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
)

// warnForeignDataDir logs a warning when the server runs as root (euid 0)
// on a data directory that another user owns. Everything the server
// creates there (the database, the keyring, the credentials and audit
// files) would belong to root, so the server later fails to start as the
// directory's owner; and the owner, who can rename and replace entries in
// the directory, can make a root process open files of its choosing. The
// fix is to run the server as that user, or to give the directory to root.
func warnForeignDataDir(dir string, euid int, log *slog.Logger) {
	if euid != 0 {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return // prepareDataDir has already reported an unusable directory
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return
	}
	log.Warn("rotor server runs as root on a data directory owned by another user: files it creates there belong to root, "+
		"so the server will not start as that user later, and that user can swap the directory's files under a root process",
		"data_dir", dir, "owner_uid", st.Uid,
		"fix", fmt.Sprintf("run the server as uid %d (systemd User=, or sudo -u '#%d' rotor server ...), or chown -R root:root %s", st.Uid, st.Uid, dir))
}

// refuseForeignDataDir is the guard of the offline commands that write
// into a stopped server's data directory (restore, recover-admin): run as
// root (euid 0) on a directory another user owns — typically the service
// user's /var/lib/rotor, after a `sudo` without `-u` — they would leave
// root-owned files there (the database, its lock and WAL), which the
// server, started again as that user, cannot open. They refuse before
// touching anything, naming the owner and the two ways out. A directory
// that does not exist yet, or that root owns, passes.
func refuseForeignDataDir(command, dir string, euid int) error {
	if euid != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // missing (it will be created, by root for root) or reported by the command
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return fmt.Errorf("rotor %s runs as root on the data directory %s, which uid %d owns: the files it writes there would belong to root, "+
		"and the server, running as uid %d, could not open them. Run it as the directory's owner (sudo -u '#%d' rotor %s ...), "+
		"or, if the server runs as root, give it the directory first (chown -R root:root %s). Nothing was changed",
		command, dir, st.Uid, st.Uid, st.Uid, command, dir)
}
