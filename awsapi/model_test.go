package awsapi_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/rotorhq/rotor/awsapi"
)

// TestOperationsCoverModel fails when an operation of the vendored model is
// neither implemented nor answered as unsupported, when a name is in both
// lists, or when a list names an operation the model does not have.
func TestOperationsCoverModel(t *testing.T) {
	b, err := os.ReadFile("model/secretsmanager-service-2.json")
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(b, &model); err != nil {
		t.Fatal(err)
	}
	if len(model.Operations) == 0 {
		t.Fatal("model has no operations")
	}
	impl, unsup := awsapi.Operations(), awsapi.Unsupported()
	for op := range model.Operations {
		in, out := slices.Contains(impl, op), slices.Contains(unsup, op)
		switch {
		case in && out:
			t.Errorf("%s is both implemented and unsupported", op)
		case !in && !out:
			t.Errorf("%s is neither implemented nor listed as unsupported", op)
		}
	}
	for _, op := range append(slices.Clone(impl), unsup...) {
		if _, ok := model.Operations[op]; !ok {
			t.Errorf("%s is listed but not in the model", op)
		}
	}
	if !slices.IsSorted(impl) || !slices.IsSorted(unsup) {
		t.Errorf("Operations()=%v / Unsupported()=%v, want sorted", impl, unsup)
	}
}
