package rotation

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// Registry maps rotation-function names to functions, per region. A
// function is addressed by its Lambda ARN
// arn:aws:lambda:<region>:<account>:function:<name>; it exists only in the
// regions it was registered for. Registering is done at start-up from code
// (built-ins) and the operator's config file (exec and http functions) —
// never through the API.
type Registry struct {
	account string
	mu      sync.RWMutex
	funcs   map[string]entry // by name
}

type entry struct {
	fn      lambda.Function
	kind    string
	regions map[string]bool // nil = every region
}

// FunctionInfo describes a registered function.
type FunctionInfo struct {
	Name    string
	Kind    string   // "builtin", "exec" or "http"
	Regions []string // nil = every region
}

// NewRegistry returns an empty registry for functions of account.
func NewRegistry(account string) *Registry {
	return &Registry{account: account, funcs: map[string]entry{}}
}

// Register adds fn under name for regions (nil or empty = every region).
// It panics on a duplicate name: the set of functions is fixed at start-up.
func (r *Registry) Register(name, kind string, regions []string, fn lambda.Function) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[name]; dup {
		panic(fmt.Sprintf("rotation: function %q registered twice", name))
	}
	var rs map[string]bool
	if len(regions) > 0 {
		rs = map[string]bool{}
		for _, reg := range regions {
			rs[reg] = true
		}
	}
	r.funcs[name] = entry{fn: fn, kind: kind, regions: rs}
}

// ARN returns the Lambda ARN of function name in region.
func (r *Registry) ARN(region, name string) string { return rotor.LambdaARN(region, r.account, name) }

// Lookup resolves a Lambda ARN as seen from region. It fails with EDENIED —
// AWS's AccessDeniedException — when the ARN is malformed, names another
// account or region, or names a function that does not exist in region.
func (r *Registry) Lookup(region, arn string) (lambda.Function, error) {
	a, ok := rotor.ParseARN(arn)
	name, found := strings.CutPrefix(a.Resource, "function:")
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i] // a version or alias qualifier: every function has one version here
	}
	if !ok || a.Service != "lambda" || !found || name == "" {
		return nil, rotor.Errorf(rotor.EDENIED, "Secrets Manager cannot invoke the specified Lambda function. %q is not a Lambda function ARN (arn:aws:lambda:%s:%s:function:<name>).", arn, region, r.account)
	}
	if a.Region != region {
		return nil, rotor.Errorf(rotor.EDENIED, "Secrets Manager cannot invoke the specified Lambda function. The function %s does not exist in region %s: a rotation function must be in the same region as the secret.", name, region)
	}
	if a.Account != r.account {
		return nil, rotor.Errorf(rotor.EDENIED, "Secrets Manager cannot invoke the specified Lambda function. The function %s does not exist in account %s.", name, r.account)
	}
	r.mu.RLock()
	e, ok := r.funcs[name]
	r.mu.RUnlock()
	if !ok || (e.regions != nil && !e.regions[region]) {
		return nil, rotor.Errorf(rotor.EDENIED, "Secrets Manager cannot invoke the specified Lambda function. The function %s does not exist in region %s.", name, region)
	}
	return e.fn, nil
}

// Functions lists the registered functions by name.
func (r *Registry) Functions() []FunctionInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]FunctionInfo, 0, len(r.funcs))
	for name, e := range r.funcs {
		info := FunctionInfo{Name: name, Kind: e.kind}
		for reg := range e.regions {
			info.Regions = append(info.Regions, reg)
		}
		sort.Strings(info.Regions)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
