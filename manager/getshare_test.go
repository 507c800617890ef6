package manager_test

import (
	"slices"
	"testing"

	"github.com/rotorhq/rotor"
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
