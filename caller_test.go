package rotor_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestCallerContext: the Caller given to NewContext comes back from
// CallerFrom, also through contexts derived from it, the innermost
// NewContext wins, and the parent's values, deadline and cancellation
// still reach the derived contexts.
func TestCallerContext(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "parent value"))
	if _, ok := rotor.CallerFrom(parent); ok {
		t.Fatal("CallerFrom found a caller in a context without one")
	}
	a := rotor.Caller{Region: "us-east-1", RequestID: "a", SourceIP: "192.0.2.1", SecureTransport: true,
		Principal: rotor.Principal{Identity: "alice"}}
	ctx := rotor.NewContext(parent, a)
	if got, ok := rotor.CallerFrom(ctx); !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("CallerFrom = %+v, %v; want %+v", got, ok, a)
	}
	got, _ := rotor.CallerFrom(ctx)
	got.Region = "changed"
	if again, _ := rotor.CallerFrom(ctx); !reflect.DeepEqual(again, a) {
		t.Fatalf("changing a returned Caller changed the context's: %+v", again)
	}
	derived, stop := context.WithTimeout(context.WithValue(ctx, key{}, "derived value"), time.Hour)
	defer stop()
	if got, ok := rotor.CallerFrom(derived); !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("CallerFrom(derived) = %+v, %v; want %+v", got, ok, a)
	}
	if v := ctx.Value(key{}); v != "parent value" {
		t.Fatalf("ctx.Value(parent key) = %v", v)
	}
	b := rotor.Caller{Region: "eu-west-1", RequestID: "b"}
	if got, _ := rotor.CallerFrom(rotor.NewContext(derived, b)); !reflect.DeepEqual(got, b) {
		t.Fatalf("CallerFrom(inner NewContext) = %+v, want %+v", got, b)
	}
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the parent did not reach a context derived from NewContext")
	}
	if ctx.Err() != context.Canceled {
		t.Fatalf("ctx.Err() = %v", ctx.Err())
	}
}
