package awsapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"testing"

	"github.com/rotorhq/rotor/awsapi"
)

// TestOperationsCoverModel fails, for a handler without and one with a
// rotation engine, when an operation of the vendored model is neither
// implemented nor answered as unsupported, when a name is in both lists, or
// when a list names an operation the model does not have; and when the
// rotation operations are not on the side the configuration puts them.
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
	configs := []struct {
		name     string
		h        *awsapi.Handler
		rotation bool
	}{
		{"WithoutRotation", &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: &acceptAll{}}, false},
		{"WithRotation", &awsapi.Handler{Secrets: &fakeSecrets{}, Rotation: &fakeRotation{}, Auth: &acceptAll{}}, true},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			impl, unsup := c.h.Operations(), c.h.Unsupported()
			checkCoverage(t, model.Operations, impl, unsup)
			for _, op := range []string{"RotateSecret", "CancelRotateSecret"} {
				if got := slices.Contains(impl, op); got != c.rotation {
					t.Errorf("%s implemented=%v, want %v", op, got, c.rotation)
				}
			}
			// The lists must describe what the handler does.
			for _, op := range impl {
				rec := post(t, c.h, "secretsmanager."+op, `{}`)
				var e wireError
				_ = json.Unmarshal(rec.Body.Bytes(), &e)
				if e.Type == "UnknownOperationException" || e.Message == op+" is not available in this version of Rotor yet." {
					t.Errorf("%s is listed as implemented but answers %s %q", op, e.Type, e.Message)
				}
			}
			for _, op := range unsup {
				rec := post(t, c.h, "secretsmanager."+op, `{}`)
				if msg := mustError(t, rec, http.StatusBadRequest, "InvalidRequestException"); msg != op+" is not available in this version of Rotor yet." {
					t.Errorf("%s is listed as unsupported but answers %q", op, msg)
				}
			}
		})
	}
}

// checkCoverage checks impl and unsup partition the model's operations.
func checkCoverage(t *testing.T, ops map[string]json.RawMessage, impl, unsup []string) {
	t.Helper()
	for op := range ops {
		in, out := slices.Contains(impl, op), slices.Contains(unsup, op)
		switch {
		case in && out:
			t.Errorf("%s is both implemented and unsupported", op)
		case !in && !out:
			t.Errorf("%s is neither implemented nor listed as unsupported", op)
		}
	}
	for _, op := range append(slices.Clone(impl), unsup...) {
		if _, ok := ops[op]; !ok {
			t.Errorf("%s is listed but not in the model", op)
		}
	}
	if !slices.IsSorted(impl) || !slices.IsSorted(unsup) {
		t.Errorf("Operations()=%v / Unsupported()=%v, want sorted", impl, unsup)
	}
}
