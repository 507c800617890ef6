package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
)

// A cold read describes the secret, then fetches the version that carries
// AWSCURRENT by VersionId (no stage), as caching-go does; the next read is
// served from the cache.
func TestCacheWirePattern(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("wire")
	vid := rotortest.CreateSecret(t, e.sm, name, "value-A")

	v, err := e.cache.GetSecretValue(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.SecretString) != "value-A" || v.VersionID != vid || v.Name != name ||
		!strings.HasPrefix(v.ARN, "arn:aws:secretsmanager:") || !slices.Equal(v.VersionStages, []string{rotor.StageCurrent}) {
		t.Fatalf("value = %+v (string %q), want value-A version %s of %s with [AWSCURRENT]", v, aws.ToString(v.SecretString), vid, name)
	}
	e.api.wantCounts(t, e.cache, "cold read", 1, 1)
	if got, want := e.api.lastGet(), v.ARN+"|"+vid+"|"; got != want {
		t.Fatalf("GetSecretValue input = %q, want SecretId|VersionId|VersionStage = %q", got, want)
	}

	if s := mustString(t, e.cache, name); s != "value-A" {
		t.Fatalf("second read = %q", s)
	}
	e.api.wantCounts(t, e.cache, "warm read", 1, 1)
	if st := e.cache.Stats(); st.Hits != 1 || st.Misses != 1 {
		t.Fatalf("Stats hits/misses = %d/%d, want 1/1", st.Hits, st.Misses)
	}

	// The caller's copy is not the cache's.
	*v.SecretString = "changed by caller"
	if s := mustString(t, e.cache, name); s != "value-A" {
		t.Fatalf("after the caller changed its copy the cache returns %q", s)
	}
}

// The description is trusted for a TTL with jitter in [TTL/2, TTL): a
// read before TTL/2 sends nothing, a read after TTL describes again, and a
// new AWSCURRENT put on the server is noticed then, not before.
func TestCacheTTLAndStageChange(t *testing.T) {
	const ttl = time.Minute
	e := newEnv(t, client.WithTTL(ttl))
	name := rotortest.Name("ttl")
	rotortest.CreateSecret(t, e.sm, name, "A")
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "cold", 1, 1)

	e.clock.Advance(ttl/2 - time.Second)
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "before TTL/2", 1, 1)

	e.clock.Advance(ttl/2 + time.Second) // now TTL after the first describe
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "after TTL, same version", 2, 1)

	vidB := rotortest.PutSecret(t, e.sm, name, "B")
	e.clock.Advance(ttl/2 - time.Second)
	if s := mustString(t, e.cache, name); s != "A" {
		t.Fatalf("within the TTL after PutSecretValue the cache returned %q, want the cached A", s)
	}
	e.api.wantCounts(t, e.cache, "within TTL after put", 2, 1)

	e.clock.Advance(ttl/2 + time.Second)
	v, err := e.cache.GetSecretValue(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.SecretString) != "B" || v.VersionID != vidB {
		t.Fatalf("after TTL: %q version %s, want B version %s", aws.ToString(v.SecretString), v.VersionID, vidB)
	}
	e.api.wantCounts(t, e.cache, "after TTL, new version", 3, 2)

	// The old version is now AWSPREVIOUS and still cached: no request.
	prev, err := e.cache.GetSecretString(ctx, name, client.WithStage(rotor.StagePrevious))
	if err != nil || prev != "A" {
		t.Fatalf("AWSPREVIOUS = %q, %v; want A", prev, err)
	}
	e.api.wantCounts(t, e.cache, "AWSPREVIOUS from cache", 3, 2)
}

// Versions are cached by id: when AWSCURRENT moves back to a version the
// cache already holds, a refresh sends DescribeSecret only.
func TestCacheVersionReuse(t *testing.T) {
	const ttl = time.Minute
	e := newEnv(t, client.WithTTL(ttl))
	name := rotortest.Name("reuse")
	v1 := rotortest.CreateSecret(t, e.sm, name, "one")
	v2 := rotortest.PutSecret(t, e.sm, name, "two")

	if s := mustString(t, e.cache, name); s != "two" {
		t.Fatalf("AWSCURRENT = %q", s)
	}
	if s := mustString(t, e.cache, name, client.WithStage(rotor.StagePrevious)); s != "one" {
		t.Fatalf("AWSPREVIOUS = %q", s)
	}
	e.api.wantCounts(t, e.cache, "current and previous", 1, 2)

	// Roll back: AWSCURRENT moves to v1 (and AWSPREVIOUS to v2).
	_, err := e.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(name), VersionStage: aws.String(rotor.StageCurrent),
		MoveToVersionId: aws.String(v1), RemoveFromVersionId: aws.String(v2),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(ttl)
	v, err := e.cache.GetSecretValue(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.SecretString) != "one" || v.VersionID != v1 {
		t.Fatalf("after rollback AWSCURRENT = %q (%s), want one (%s)", aws.ToString(v.SecretString), v.VersionID, v1)
	}
	e.api.wantCounts(t, e.cache, "rollback to a cached version", 2, 2)
	if s := mustString(t, e.cache, name, client.WithStage(rotor.StagePrevious)); s != "two" {
		t.Fatalf("AWSPREVIOUS after rollback = %q", s)
	}
	e.api.wantCounts(t, e.cache, "previous after rollback", 2, 2)

	// By version id: cached versions need no request however old the
	// description is.
	e.clock.Advance(10 * ttl)
	if s := mustString(t, e.cache, name, client.WithVersionID(v2)); s != "two" {
		t.Fatalf("version %s = %q", v2, s)
	}
	e.api.wantCounts(t, e.cache, "by version id", 2, 2)
}

// Many goroutines reading a cold secret share one DescribeSecret and one
// GetSecretValue.
func TestCacheSingleFlight(t *testing.T) {
	const n = 64
	e := newEnv(t)
	name := rotortest.Name("flight")
	rotortest.CreateSecret(t, e.sm, name, "shared")

	// Hold the DescribeSecret until every goroutine has found the cache
	// cold (each counts a miss before it joins or starts the refresh).
	e.api.beforeDesc = func() {
		deadline := time.Now().Add(30 * time.Second)
		for e.cache.Stats().Misses < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.cache.GetSecretString(ctx, name)
			if err == nil && s != "shared" {
				err = fmt.Errorf("got %q", s)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := e.cache.Stats().Misses; m != n {
		t.Fatalf("misses = %d, want %d (all goroutines raced on a cold cache)", m, n)
	}
	e.api.wantCounts(t, e.cache, fmt.Sprintf("%d concurrent cold reads", n), 1, 1)
}

// The cache holds at most WithMaxSecrets secrets, evicting the least
// recently used; and at most WithMaxVersions versions per secret.
func TestCacheLRU(t *testing.T) {
	e := newEnv(t, client.WithMaxSecrets(2), client.WithMaxVersions(1))
	a, b, c := rotortest.Name("lru_a"), rotortest.Name("lru_b"), rotortest.Name("lru_c")
	for _, n := range []string{a, b, c} {
		rotortest.CreateSecret(t, e.sm, n, "v-"+n)
	}
	mustString(t, e.cache, a)
	mustString(t, e.cache, b)
	mustString(t, e.cache, a) // a is now the most recently used
	mustString(t, e.cache, c) // evicts b
	e.api.wantCounts(t, e.cache, "a, b, a, c", 3, 3)
	if st := e.cache.Stats(); st.Evictions != 1 || e.cache.Len() != 2 {
		t.Fatalf("evictions %d, len %d; want 1, 2", st.Evictions, e.cache.Len())
	}
	mustString(t, e.cache, a)
	mustString(t, e.cache, c)
	e.api.wantCounts(t, e.cache, "a and c still cached", 3, 3)
	if s := mustString(t, e.cache, b); s != "v-"+b {
		t.Fatalf("b = %q", s)
	}
	e.api.wantCounts(t, e.cache, "b was evicted", 4, 4)

	// One version per secret: reading AWSPREVIOUS evicts AWSCURRENT's value.
	rotortest.PutSecret(t, e.sm, b, "b2")
	if err := e.cache.Refresh(ctx, b); err != nil {
		t.Fatal(err)
	}
	e.api.wantCounts(t, e.cache, "refresh b", 5, 5)
	if s := mustString(t, e.cache, b, client.WithStage(rotor.StagePrevious)); s != "v-"+b {
		t.Fatalf("b AWSPREVIOUS = %q", s)
	}
	e.api.wantCounts(t, e.cache, "b previous", 5, 6)
	if s := mustString(t, e.cache, b); s != "b2" {
		t.Fatalf("b AWSCURRENT = %q", s)
	}
	e.api.wantCounts(t, e.cache, "b current again (its value was evicted)", 5, 7)
}

// When a refresh fails the last good value is served, the failure is
// counted and kept, and the server is not asked again until the back-off
// has passed.
func TestCacheStaleOnError(t *testing.T) {
	const ttl = time.Minute
	e := newEnv(t, client.WithTTL(ttl), client.WithErrorBackoff(time.Second, 4*time.Second))
	name := rotortest.Name("stale")
	rotortest.CreateSecret(t, e.sm, name, "last-good")
	other := rotortest.Name("never_read")
	rotortest.CreateSecret(t, e.sm, other, "x")
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "cold", 1, 1)

	e.srv.Stop()
	e.clock.Advance(ttl)
	if s := mustString(t, e.cache, name); s != "last-good" {
		t.Fatalf("stale read = %q", s)
	}
	e.api.wantCounts(t, e.cache, "refresh against a stopped server", 2, 1)
	st := e.cache.Stats()
	if st.StaleServed != 1 || st.RefreshErrors != 1 {
		t.Fatalf("StaleServed %d RefreshErrors %d, want 1 1", st.StaleServed, st.RefreshErrors)
	}
	lastErr := e.cache.LastError(name)
	if lastErr == nil || !strings.Contains(lastErr.Error(), "describe") {
		t.Fatalf("LastError = %v, want the describe failure", lastErr)
	}

	// In back-off: served stale without a request.
	if s := mustString(t, e.cache, name); s != "last-good" {
		t.Fatalf("stale read in back-off = %q", s)
	}
	e.api.wantCounts(t, e.cache, "in back-off", 2, 1)

	// After the back-off: one more attempt, still stale, back-off doubled.
	e.clock.Advance(time.Second)
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "after back-off", 3, 1)
	e.clock.Advance(time.Second) // second back-off is 2 s
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "within doubled back-off", 3, 1)
	if st := e.cache.Stats(); st.StaleServed != 4 || st.RefreshErrors != 2 {
		t.Fatalf("StaleServed %d RefreshErrors %d, want 4 2", st.StaleServed, st.RefreshErrors)
	}

	// Refresh ignores the back-off and reports the failure; the value stays.
	if err := e.cache.Refresh(ctx, name); err == nil {
		t.Fatal("Refresh against a stopped server succeeded")
	}
	e.api.wantCounts(t, e.cache, "forced refresh", 4, 1)
	if s := mustString(t, e.cache, name); s != "last-good" {
		t.Fatalf("after failed Refresh = %q", s)
	}

	// A secret never read has nothing to serve: the error comes back.
	if _, err := e.cache.GetSecretValue(ctx, other); err == nil || errors.Is(err, client.ErrSecretNotFound) {
		t.Fatalf("cold read against a stopped server: %v, want a connection error", err)
	}
}

// Refresh makes a new value visible at once, without waiting for the TTL.
func TestCacheRefresh(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("refresh")
	rotortest.CreateSecret(t, e.sm, name, "A")
	mustString(t, e.cache, name)
	rotortest.PutSecret(t, e.sm, name, "B")
	if s := mustString(t, e.cache, name); s != "A" {
		t.Fatalf("before Refresh = %q, want the cached A", s)
	}
	if err := e.cache.Refresh(ctx, name); err != nil {
		t.Fatal(err)
	}
	e.api.wantCounts(t, e.cache, "Refresh prefetches the new AWSCURRENT", 2, 2)
	if s := mustString(t, e.cache, name); s != "B" {
		t.Fatalf("after Refresh = %q, want B", s)
	}
	e.api.wantCounts(t, e.cache, "read after Refresh", 2, 2)
	if err := e.cache.LastError(name); err != nil {
		t.Fatalf("LastError after success = %v", err)
	}
}

// WithMaxAge overrides the TTL per read.
func TestCacheMaxAge(t *testing.T) {
	e := newEnv(t, client.WithTTL(time.Minute))
	name := rotortest.Name("maxage")
	rotortest.CreateSecret(t, e.sm, name, "A")
	mustString(t, e.cache, name)
	mustString(t, e.cache, name, client.WithMaxAge(0))
	e.api.wantCounts(t, e.cache, "max age 0", 2, 1)
	e.clock.Advance(10 * time.Minute)
	mustString(t, e.cache, name, client.WithMaxAge(time.Hour))
	e.api.wantCounts(t, e.cache, "max age 1h after TTL", 2, 1)
	mustString(t, e.cache, name)
	e.api.wantCounts(t, e.cache, "default TTL expired", 3, 1)
}

// Errors are typed: they match the sentinels (errors.Is), carry rotor
// codes, and still wrap the SDK's exception.
func TestCacheTypedErrors(t *testing.T) {
	e := newEnv(t)
	str := rotortest.Name("typed_str")
	const value = "s3cr3t-VALUE-xyz"
	rotortest.CreateSecret(t, e.sm, str, value)
	bin := rotortest.Name("typed_bin")
	if _, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(bin), SecretBinary: []byte{0, 1, 2, 255}, ClientRequestToken: aws.String(uuid.NewString()),
	}); err != nil {
		t.Fatal(err)
	}
	empty := rotortest.Name("typed_empty")
	if _, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(empty)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		call     func() error
		sentinel error
		code     string
		sdk      bool // wraps *types.ResourceNotFoundException
	}{
		{"unknown secret", func() error { _, err := e.cache.GetSecretValue(ctx, "no/such/secret"); return err },
			client.ErrSecretNotFound, rotor.ENOTFOUND, true},
		{"unknown stage", func() error {
			_, err := e.cache.GetSecretValue(ctx, str, client.WithStage("NOPE"))
			return err
		}, client.ErrStageNotFound, rotor.ENOTFOUND, false},
		{"secret without a value", func() error { _, err := e.cache.GetSecretValue(ctx, empty); return err },
			client.ErrStageNotFound, rotor.ENOTFOUND, false},
		{"unknown version id", func() error {
			_, err := e.cache.GetSecretValue(ctx, str, client.WithVersionID(uuid.NewString()))
			return err
		}, client.ErrVersionNotFound, rotor.ENOTFOUND, true},
		{"string wanted, binary held", func() error { _, err := e.cache.GetSecretString(ctx, bin); return err },
			client.ErrBinary, rotor.EINVALID, false},
		{"binary wanted, string held", func() error { _, err := e.cache.GetSecretBinary(ctx, str); return err },
			client.ErrString, rotor.EINVALID, false},
		{"string secret is not a database secret", func() error { _, err := e.cache.GetDBSecret(ctx, str); return err },
			client.ErrNotDBSecret, rotor.EINVALID, false},
		{"empty id", func() error { _, err := e.cache.GetSecretValue(ctx, ""); return err },
			client.ErrInvalidSecretID, rotor.EINVALID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want %v", err, tt.sentinel)
			}
			if code := rotor.ErrorCode(err); code != tt.code {
				t.Fatalf("rotor.ErrorCode = %q, want %q", code, tt.code)
			}
			var nf *types.ResourceNotFoundException
			if got := errors.As(err, &nf); got != tt.sdk {
				t.Fatalf("wraps ResourceNotFoundException = %v, want %v (%v)", got, tt.sdk, err)
			}
			if strings.Contains(err.Error(), value) {
				t.Fatalf("error quotes the secret value: %v", err)
			}
		})
	}

	// The binary value itself reads fine.
	if b, err := e.cache.GetSecretBinary(ctx, bin); err != nil || string(b) != "\x00\x01\x02\xff" {
		t.Fatalf("binary = %v, %v", b, err)
	}

	// A missing secret is remembered for the error back-off: no second
	// DescribeSecret.
	before := e.api.describes.Load()
	if _, err := e.cache.GetSecretValue(ctx, "no/such/secret"); !errors.Is(err, client.ErrSecretNotFound) {
		t.Fatalf("second read of a missing secret: %v", err)
	}
	if got := e.api.describes.Load(); got != before {
		t.Fatalf("second read of a missing secret sent %d DescribeSecret", got-before)
	}
}

// A secret deleted for good stops being served once the cache learns of it.
func TestCacheSecretDeleted(t *testing.T) {
	e := newEnv(t, client.WithTTL(time.Minute))
	name := rotortest.Name("deleted")
	rotortest.CreateSecret(t, e.sm, name, "gone soon")
	mustString(t, e.cache, name)
	if _, err := e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.cache.GetSecretValue(ctx, name); !errors.Is(err, client.ErrSecretNotFound) {
		t.Fatalf("read after force delete: %v, want ErrSecretNotFound", err)
	}
	if st := e.cache.Stats(); st.StaleServed != 0 {
		t.Fatalf("a deleted secret was served stale %d times", st.StaleServed)
	}
}

// A caller whose context ends stops waiting; the shared refresh carries on
// and is kept for the next reader.
func TestCacheCallerContext(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("cancel")
	rotortest.CreateSecret(t, e.sm, name, "v")
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.api.beforeDesc = func() {
		once.Do(func() {
			close(entered)
			<-release
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := e.cache.GetSecretValue(cctx, name)
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v, want context.Canceled", err)
	}
	close(release)
	if s := mustString(t, e.cache, name); s != "v" {
		t.Fatalf("read after a cancelled one = %q", s)
	}
	e.api.wantCounts(t, e.cache, "the cancelled caller's refresh served the next read", 1, 1)
}
