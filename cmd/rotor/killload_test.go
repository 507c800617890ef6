package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
)

// TestAcknowledgedWritesSurviveKillUnderLoad: 8 clients write (CreateSecret,
// then PutSecretValue with a known version id) as fast as they can while
// the server is killed with SIGKILL; after a restart every write the
// server acknowledged is there with its exact value. Concurrent writes
// share commits (group commit), so this checks that none is acknowledged
// before its commit is durable.
func TestAcknowledgedWritesSurviveKillUnderLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, dir)
	c := p.client(t, dir)
	ctx := context.Background()

	type write struct{ name, version, value string }
	var (
		mu    sync.Mutex
		acked []write
		wg    sync.WaitGroup
		stop  atomic.Bool
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("kill/w%d/s%d", w, i)
				v1, v2 := uuid.NewString(), uuid.NewString()
				out, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name),
					ClientRequestToken: aws.String(v1), SecretString: aws.String("create " + v1)})
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, write{name, aws.ToString(out.VersionId), "create " + v1})
				mu.Unlock()
				if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
					ClientRequestToken: aws.String(v2), SecretString: aws.String("put " + v2)}); err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, write{name, v2, "put " + v2})
				mu.Unlock()
			}
		})
	}
	// Kill once a good number of writes were acknowledged, mid-load.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged in 60 s", n)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged before SIGKILL", len(acked))
	p2 := startProcess(t, dir)
	c2 := p2.client(t, dir)
	for _, w := range acked {
		out, err := c2.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.name), VersionId: aws.String(w.version)})
		if err != nil {
			t.Errorf("acknowledged write %s/%s lost after SIGKILL: %v", w.name, w.version, err)
			continue
		}
		if got := aws.ToString(out.SecretString); got != w.value {
			t.Errorf("%s/%s = %q after SIGKILL, want %q", w.name, w.version, got, w.value)
		}
	}
}
