// Command rotor is the Rotor server and its command-line client.
//
//	rotor server [flags]          run the server (see docs/config.md)
//	rotor backup <file>           snapshot the running server's database
//	rotor identity ...            manage identities
//	rotor access-key ...          manage access keys
//	rotor keys ...                list, rotate and retire key-encryption keys
//	rotor rotation ...            rotation runs: list, history, abandon
//	rotor recover-admin [flags]   offline: a new admin access key for a stopped server
//	rotor migrate --from DIR --to URL  offline: copy a SQLite data directory into PostgreSQL
//	rotor audit verify FILE...    check the audit log's hash chain (reads files only)
//
// Client subcommands talk to a running server through Rotor's own API,
// signed with the caller's AWS credentials; they never open a data directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

const usage = `Usage: rotor <command> [arguments]

Commands:
  server                         run the server (flags: rotor server -h)
  backup <file>                  write a consistent snapshot of the server's database to <file> on the server's machine
  identity create <name> [-role admin|read-only]   without -role: no rights until given a policy
  identity policy put <name> <file>   set the identity's inline IAM policy (JSON, <= 6,144 chars; - = stdin)
  identity policy get <name>
  identity policy delete <name>
  identity list
  identity delete <name>
  access-key create <identity>   the secret is shown once
  access-key activate <id>
  access-key deactivate <id>
  access-key delete <id>
  keys list                      key-encryption keys and how many data keys each wraps
  keys add <key file>            offline: stage a new, inactive key-encryption key in a key file, to give
                                 to every server sharing a database before 'keys rotate' activates it
  keys rotate                    make a new key-encryption key active (the staged one, if any) and
                                 re-wrap every data key under it
  keys retire <id>               remove a key-encryption key that wraps nothing
  rotation list [-failed] [-status S] [-limit N]   rotation runs, newest first
  rotation history <secret-id> [-limit N]          a secret's runs with every step
  rotation abandon <secret-id>   stop a rotation and remove its stray AWSPENDING label
  recover-admin [-identity NAME] [-out FILE] [server flags: -data-dir, -key-file, -config, ...]
                                 on a STOPPED server's data directory: give an admin identity a new
                                 access key, written to FILE (default <data-dir>/credentials-recovered, 0600)
  migrate --from DIR --to URL    offline: copy a STOPPED SQLite server's data directory into an empty
                                 PostgreSQL database (sealed values as stored), then verify the copy
                                 [-key-file FILE | -key-env NAME] (the keyring, needed to verify)
  audit verify FILE...           check the audit log's hash chain, oldest file first
                                 (audit.log.* audit.log); reads the files only, no server
  version

Client flags (before or after the command):
  --endpoint URL   the server; else $ROTOR_ENDPOINT, $AWS_ENDPOINT_URL_SECRETS_MANAGER
                   or $AWS_ENDPOINT_URL (default http://127.0.0.1:8740)
  --region R       region to sign for (default from the AWS configuration, else us-east-1)
  --profile P      AWS shared-config profile whose credentials sign the requests

Client commands find the server in --endpoint, $ROTOR_ENDPOINT, $AWS_ENDPOINT_URL_SECRETS_MANAGER
or $AWS_ENDPOINT_URL (default http://127.0.0.1:8740) and sign with the AWS credentials of the
environment ($AWS_SHARED_CREDENTIALS_FILE, $AWS_PROFILE, $AWS_ACCESS_KEY_ID, ...).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	args = hoistClientFlags(args)
	var err error
	switch args[0] {
	case "server":
		err = runServer(ctx, args[1:], stdout)
	case "recover-admin":
		err = runRecoverAdmin(ctx, args[1:], stdout)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout)
	case "audit":
		err = runAudit(args[1:], stdout)
	case "keys":
		if len(args) > 1 && args[1] == "add" {
			err = runKeysAdd(args[2:], stdout)
		} else {
			err = runClient(ctx, args, stdout)
		}
	case "version":
		fmt.Fprintln(stdout, "rotor", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = runClient(ctx, args, stdout)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rotor: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks a mistake in the command line (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) + " (see 'rotor help')" }

func runServer(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := LoadConfig(args, os.Getenv)
	if err != nil {
		return err
	}
	applyGC(cfg.Cache.MaxBytes, os.Getenv)
	m := &Main{Config: cfg, Stdout: stdout}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}
