// Command rotor is the Rotor server and its command-line client.
//
//	rotor server [flags]          run the server (see docs/config.md)
//	rotor secret ...              ls, get, put, rotate, history: secrets without the AWS CLI
//	rotor backup <file>           download a snapshot of the running server's database
//	rotor restore <file>          offline: install a backup, after checking the keyring opens it
//	rotor identity ...            manage identities
//	rotor access-key ...          manage access keys
//	rotor keys ...                list, rotate and retire key-encryption keys
//	rotor rotation ...            rotation runs: list, history, abandon
//	rotor recover-admin [flags]   offline: a new admin access key for a stopped server
//	rotor audit verify FILE...    check the audit log's hash chain (reads files only)
//	rotor completion bash|zsh     shell completion
//
// The commands form one tree (commands.go) that the dispatcher, the help
// and the completion scripts share. Client commands talk to a running
// server through its API, signed with the caller's AWS credentials; they
// never open a data directory.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// runServer runs the server with cfg until ctx ends.
func runServer(ctx context.Context, cfg Config, stdout io.Writer) error {
	applyGC(cfg.Cache.MaxBytes, os.Getenv)
	m := &Main{Config: cfg, Stdout: stdout}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}
