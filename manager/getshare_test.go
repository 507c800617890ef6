package manager_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// TestGetSecretValueResultIsCallersOwn checks that a caller modifying what
// GetSecretValue returned (its labels, its string value) does not change
// what later reads of the same cached version return.
func TestGetSecretValueResultIsCallersOwn(t *testing.T) {
	tests := []struct {
		name   string
		stages []string // labels of the version read; nil means AWSCURRENT
		want   []string
	}{
		{"one label", nil, []string{rotor.StageCurrent}},
		{"two labels", []string{rotor.StageCurrent, "Blue"}, []string{rotor.StageCurrent, "Blue"}},
		{"four labels", []string{"Zed", rotor.StageCurrent, "Blue", "Amber"}, []string{rotor.StageCurrent, "Amber", "Blue", "Zed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.create(t, "s", "v1")
			e.put(t, "s", tok(1), "v2", tt.stages...)
			slices.Sort(tt.want)
			in := rotor.GetSecretValueInput{SecretID: "s"}
			for i := range 3 { // the later reads are served from the cache
				got := e.get(t, in)
				if !slices.Equal(got.Stages, tt.want) {
					t.Fatalf("read %d: Stages = %v, want %v", i, got.Stages, tt.want)
				}
				if got.Value.String == nil || *got.Value.String != "v2" {
					t.Fatalf("read %d: value = %+v, want string v2", i, got.Value)
				}
				for j := range got.Stages {
					got.Stages[j] = "scribbled"
				}
				*got.Value.String = "scribbled"
			}
		})
	}
}

// openOnly is a manager.Keyring with only Seal and Open, so the manager
// reads values through Open instead of envelope's AppendOpenVersion.
type openOnly struct{ k manager.Keyring }

func (o openOnly) Seal(plaintext, aad []byte) (rotor.Sealed, error) { return o.k.Seal(plaintext, aad) }
func (o openOnly) Open(s rotor.Sealed, aad []byte) ([]byte, error)  { return o.k.Open(s, aad) }

// TestGetSecretValueEitherKeyring: string and binary values read back the same, twice (the second from the cache), whether
// the keyring opens versions into the manager's wiped buffer or only
// through Open; and a string read after a binary one is not disturbed by
// the buffer they share.
func TestGetSecretValueEitherKeyring(t *testing.T) {
	for _, name := range []string{"envelope", "open only"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *manager.Config) {
				if name == "open only" {
					c.Keyring = openOnly{c.Keyring}
				}
			})
			e.create(t, "str", "a string value")
			bin := []byte{0, 1, 2, 0xff}
			if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "bin", Value: rotor.Value{Binary: bin},
				ClientRequestToken: tok(1)}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				b, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "bin"})
				if err != nil || b.Value.String != nil || !bytes.Equal(b.Value.Binary, bin) {
					t.Fatalf("binary read = %+v, %v", b, err)
				}
				s, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "str"})
				if err != nil || s.Value.String == nil || *s.Value.String != "a string value" || s.Value.Binary != nil {
					t.Fatalf("string read = %+v, %v", s, err)
				}
				if !bytes.Equal(b.Value.Binary, bin) {
					t.Fatalf("the binary value changed to %x after the string read", b.Value.Binary)
				}
			}
		})
	}
}
