package lambda_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/rotation/scrub"
)

const straddler = "Zq7#kP2!vX9@mW4$sEcReT"

// long is a secret long enough that redacting it shrinks the text a lot,
// so a rendering shows bytes from as far as the capture's edges.
var long = strings.Repeat("L0ng-", 400)

// noFragment fails when text holds any 5 bytes of straddler.
func noFragment(t *testing.T, what, text string) {
	t.Helper()
	for i := 0; i+5 <= len(straddler); i++ {
		if strings.Contains(text, straddler[i:i+5]) {
			t.Errorf("%s holds %q, a piece of the secret", what, straddler[i:i+5])
			return
		}
	}
}

// scrubbing returns testInvocation with a Scrubber for straddler, and a
// pointer to how often the function asked for it.
func scrubbing() (lambda.Invocation, *int) {
	inv := testInvocation()
	calls := new(int)
	inv.Scrubber = func() *scrub.Scrubber {
		*calls++
		return scrub.New(`{"username":"app","password":"` + straddler + `","key":"` + long + `"}`)
	}
	return inv, calls
}

// TestExecScrubsBeforeCutting prints a secret across every place the
// output and the error excerpt are cut; none of it may remain.
func TestExecScrubsBeforeCutting(t *testing.T) {
	half := lambda.MaxOutput / 2
	for name, script := range map[string]string{
		// Across the cut after the kept head: found whole and redacted.
		"HeadCut": fmt.Sprintf(`head -c %d /dev/zero | tr '\0' a; printf '%%s' "$S"; head -c 200000 /dev/zero | tr '\0' b`, half-10),
		// Across the end of what is captured of the head, shown because
		// the long secrets before it shrink to a few bytes: dropped.
		"HeadGap": fmt.Sprintf(`for i in $(seq 24); do printf '%%s' "$L"; done; head -c %d /dev/zero | tr '\0' a; printf '%%s' "$S"; head -c 200000 /dev/zero | tr '\0' b`, half+16<<10-24*len(long)-10),
		// Across the start of the kept tail.
		"TailCut": fmt.Sprintf(`head -c 200000 /dev/zero | tr '\0' a; printf '%%s' "$S"; head -c %d /dev/zero | tr '\0' b`, half-50),
		// Across the start of what is captured of the tail, shown because
		// the long secrets after it shrink.
		"TailGap": fmt.Sprintf(`head -c 200000 /dev/zero | tr '\0' a; printf '%%s' "$S"; head -c %d /dev/zero | tr '\0' b; for i in $(seq 24); do printf '%%s' "$L"; done`, half+16<<10-24*len(long)-10),
		// Across the cut of the stderr excerpt (its last 1024 bytes).
		"Excerpt": `printf '%s' "$S" >&2; head -c 1014 /dev/zero | tr '\0' f >&2; exit 3`,
	} {
		t.Run(name, func(t *testing.T) {
			fn := sh(script)
			fn.Env = map[string]string{"S": straddler, "L": long}
			inv, calls := scrubbing()
			res, err := fn.Invoke(context.Background(), inv)
			if name == "Excerpt" {
				if err == nil || !strings.Contains(rotor.ErrorMessage(err), "ffff") {
					t.Fatalf("err = %v, want a failure quoting stderr", err)
				}
				noFragment(t, "error", rotor.ErrorMessage(err))
			} else if err != nil {
				t.Fatal(err)
			}
			if len(res.Output) > lambda.MaxOutput {
				t.Errorf("len(Output) = %d", len(res.Output))
			}
			noFragment(t, "Output", res.Output)
			if *calls != 1 {
				t.Errorf("Scrubber called %d times, want once", *calls)
			}
		})
	}
}

// TestHTTPScrubsBeforeCutting answers a body with a secret across the
// MaxOutput cut, and an error whose excerpt cut falls inside it.
func TestHTTPScrubsBeforeCutting(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"OutputCut":  {200, strings.Repeat("y", lambda.MaxOutput-50) + straddler + strings.Repeat("z", 100)},
		"OutputGap":  {200, strings.Repeat("y", lambda.MaxOutput+16<<10-10) + straddler + strings.Repeat("z", 100000)},
		"ExcerptCut": {500, strings.Repeat("y", 1014) + straddler},
	} {
		t.Run(name, func(t *testing.T) {
			_, srv := newFunction(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			inv, _ := scrubbing()
			res, err := (&lambda.HTTP{URL: srv.URL}).Invoke(context.Background(), inv)
			if tc.status != 200 {
				if err == nil {
					t.Fatal("err = nil, want the 500")
				}
				noFragment(t, "error", rotor.ErrorMessage(err))
			} else if err != nil {
				t.Fatal(err)
			}
			if len(res.Output) > lambda.MaxOutput {
				t.Errorf("len(Output) = %d", len(res.Output))
			}
			noFragment(t, "Output", res.Output)
		})
	}
}
