package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// Values are the versions a step works with. Previous and Master are empty
// when absent.
type Values struct {
	SecretARN string
	Token     string
	Current   string // AWSCURRENT's SecretString
	Pending   string // AWSPENDING's SecretString (the token's version); "" in createSecret
	Previous  string // AWSPREVIOUS's SecretString, if any
	Master    string // the current value of the master secret the rotation is bound to, if AWSPENDING names it
	Region    string // the secret's region (lambda.Invocation.Region)
	Endpoint  string // URL of the Rotor server (lambda.Invocation.Endpoint)
}

// Strategy is what a target contributes to a rotation.
type Strategy interface {
	// Generate returns the pending SecretString, given the current one and
	// a password generator (GetRandomPassword with the secret's options).
	Generate(ctx context.Context, current string, password func(context.Context) (string, error)) (string, error)
	// Set makes the target accept the pending credentials (setSecret).
	Set(ctx context.Context, v Values) error
	// Test logs in with the pending credentials (testSecret).
	Test(ctx context.Context, v Values) error
}

// MasterUser is an optional interface of a Strategy. Function reads the
// master secret into Values.Master, for setSecret only, unless the
// strategy implements MasterUser and NeedsMaster returns false — so a
// strategy that never acts as an administrator is not broken by a stale
// "masterarn" and does not read the administrator's secret.
//
// The master read is always the one the rotation is bound to
// (lambda.Invocation.Master), never whatever the AWSPENDING value names:
// when AWSPENDING's "masterarn" names another secret, setSecret fails.
type MasterUser interface {
	NeedsMaster() bool
}

// Minter is an optional interface of a Strategy whose target makes the new
// credential itself (Rotor's access keys) instead of taking a password
// from GetRandomPassword. Function's createSecret then calls Mint instead
// of Generate, with the secret's description (its ARN and the identity
// its rotation is bound to) and the AWSCURRENT SecretString, and stores
// what Mint returns as AWSPENDING. Mint may change the target.
type Minter interface {
	Mint(ctx context.Context, desc *rotor.SecretDescription, current string) (string, error)
}

// Function adapts a Strategy to the engine's lambda.Function.
type Function struct {
	Secrets  rotor.SecretService
	Strategy Strategy
	// Password is the GetRandomPassword request used by createSecret;
	// the zero value means rotor.DefaultPasswordSpec(). A JSON secret may
	// override its length and excluded characters (see PasswordSpecFor).
	Password rotor.PasswordSpec
}

var _ lambda.Function = (*Function)(nil)

// Invoke runs one step, as AWS's template lambda_handler does.
func (f *Function) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	ev := inv.Event
	desc, err := f.Secrets.DescribeSecret(ctx, ev.SecretID)
	if err != nil {
		return lambda.Result{}, fmt.Errorf("describe secret: %s", rotor.ErrorMessage(err))
	}
	if !desc.Rotation.Enabled {
		return lambda.Result{}, fmt.Errorf("secret %s is not enabled for rotation", ev.SecretID)
	}
	stages, ok := desc.VersionStages[ev.ClientRequestToken]
	if !ok {
		return lambda.Result{}, fmt.Errorf("secret version %s has no stage for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	if slices.Contains(stages, rotor.StageCurrent) {
		return lambda.Result{Output: fmt.Sprintf("secret version %s already set as AWSCURRENT", ev.ClientRequestToken)}, nil
	}
	if !slices.Contains(stages, rotor.StagePending) {
		return lambda.Result{}, fmt.Errorf("secret version %s not set as AWSPENDING for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	switch ev.Step {
	case rotor.StepCreate:
		return f.create(ctx, ev, desc)
	case rotor.StepSet, rotor.StepTest:
		mu, ok := f.Strategy.(MasterUser)
		v, err := f.values(ctx, inv, ev.Step == rotor.StepSet && (!ok || mu.NeedsMaster()))
		if err != nil {
			return lambda.Result{}, err
		}
		v.Region, v.Endpoint = inv.Region, inv.Endpoint
		if ev.Step == rotor.StepSet {
			return lambda.Result{}, f.Strategy.Set(ctx, v)
		}
		return lambda.Result{}, f.Strategy.Test(ctx, v)
	case rotor.StepFinish:
		return f.finish(ctx, ev, desc)
	}
	return lambda.Result{}, fmt.Errorf("invalid step parameter %q", ev.Step)
}

func (f *Function) create(ctx context.Context, ev lambda.Event, desc *rotor.SecretDescription) (lambda.Result, error) {
	cur, err := f.Secrets.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionStage: rotor.StageCurrent})
	if err != nil {
		return lambda.Result{}, fmt.Errorf("get current value: %s", rotor.ErrorMessage(err))
	}
	_, err = f.Secrets.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionID: ev.ClientRequestToken, VersionStage: rotor.StagePending})
	if err == nil {
		return lambda.Result{Output: "pending value already exists"}, nil
	} else if rotor.ErrorCode(err) != rotor.ENOTFOUND {
		return lambda.Result{}, fmt.Errorf("get pending value: %s", rotor.ErrorMessage(err))
	}
	if cur.Value.String == nil {
		return lambda.Result{}, fmt.Errorf("secret %s holds a binary value: built-in rotation needs a SecretString", ev.SecretID)
	}
	pending, err := f.generate(ctx, desc, *cur.Value.String)
	if err != nil {
		return lambda.Result{}, err
	}
	_, err = f.Secrets.PutSecretValue(ctx, rotor.PutSecretValueInput{
		SecretID: ev.SecretID, ClientRequestToken: ev.ClientRequestToken,
		Value: rotor.Value{String: &pending}, Stages: []string{rotor.StagePending},
	})
	if err != nil {
		return lambda.Result{}, fmt.Errorf("put pending value: %s", rotor.ErrorMessage(err))
	}
	return lambda.Result{Output: "created pending version " + ev.ClientRequestToken}, nil
}

// generate returns the new pending value: from Mint when the strategy is
// a Minter, and otherwise from Generate with GetRandomPassword.
func (f *Function) generate(ctx context.Context, desc *rotor.SecretDescription, current string) (string, error) {
	if m, ok := f.Strategy.(Minter); ok {
		return m.Mint(ctx, desc, current)
	}
	spec := f.Password
	if spec == (rotor.PasswordSpec{}) {
		spec = rotor.DefaultPasswordSpec()
	}
	spec, err := PasswordSpecFor(spec, current)
	if err != nil {
		return "", err
	}
	return f.Strategy.Generate(ctx, current, func(ctx context.Context) (string, error) {
		return f.Secrets.GetRandomPassword(ctx, spec)
	})
}

// values gathers the versions setSecret and testSecret need; the master
// secret only when withMaster.
func (f *Function) values(ctx context.Context, inv lambda.Invocation, withMaster bool) (Values, error) {
	ev := inv.Event
	v := Values{SecretARN: ev.SecretID, Token: ev.ClientRequestToken}
	get := func(in rotor.GetSecretValueInput, dst *string, optional bool) error {
		out, err := f.Secrets.GetSecretValue(ctx, in)
		if err != nil {
			if optional && rotor.ErrorCode(err) == rotor.ENOTFOUND {
				return nil
			}
			what := in.VersionStage + " value"
			if in.SecretID != ev.SecretID {
				what = "the master secret " + in.SecretID
			}
			return fmt.Errorf("get %s: %s", what, rotor.ErrorMessage(err))
		}
		if out.Value.String != nil {
			*dst = *out.Value.String
		}
		return nil
	}
	if err := get(rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionStage: rotor.StageCurrent}, &v.Current, false); err != nil {
		return v, err
	}
	if err := get(rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionID: ev.ClientRequestToken, VersionStage: rotor.StagePending}, &v.Pending, false); err != nil {
		return v, err
	}
	if err := get(rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionStage: rotor.StagePrevious}, &v.Previous, true); err != nil {
		return v, err
	}
	var doc struct {
		MasterARN string `json:"masterarn"`
	}
	if withMaster && json.Unmarshal([]byte(v.Pending), &doc) == nil && doc.MasterARN != "" {
		if err := f.checkMaster(ctx, inv, doc.MasterARN); err != nil {
			return v, err
		}
		if err := get(rotor.GetSecretValueInput{SecretID: inv.Master, VersionStage: rotor.StageCurrent}, &v.Master, false); err != nil {
			return v, err
		}
	}
	return v, nil
}

// checkMaster refuses (EPRECONDITION) an AWSPENDING value whose
// "masterarn" does not name the master secret the rotation is bound
// to, inv.Master: the step then fails rather than act as another
// administrator. A name or partial ARN is resolved with DescribeSecret,
// which the rotation's credentials allow on the bound master only.
func (f *Function) checkMaster(ctx context.Context, inv lambda.Invocation, named string) error {
	if inv.Master != "" && named != inv.Master {
		if d, err := f.Secrets.DescribeSecret(ctx, named); err == nil && d.ARN == inv.Master {
			named = inv.Master
		}
	}
	if named == inv.Master {
		return nil
	}
	bound := inv.Master
	if bound == "" {
		bound = "(none)"
	}
	return rotor.Errorf(rotor.EPRECONDITION, "refusing to rotate: the AWSPENDING secret names the master secret %s, "+
		"but rotation of %s is bound to master %s; call RotateSecret again to rebind", named, inv.Event.SecretID, bound)
}

func (f *Function) finish(ctx context.Context, ev lambda.Event, desc *rotor.SecretDescription) (lambda.Result, error) {
	current := ""
	for id, stages := range desc.VersionStages {
		if slices.Contains(stages, rotor.StageCurrent) {
			current = id
		}
	}
	if current == ev.ClientRequestToken {
		return lambda.Result{Output: "version already marked as AWSCURRENT"}, nil
	}
	_, err := f.Secrets.UpdateSecretVersionStage(ctx, rotor.UpdateSecretVersionStageInput{
		SecretID: ev.SecretID, VersionStage: rotor.StageCurrent,
		MoveToVersionID: ev.ClientRequestToken, RemoveFromVersionID: current,
	})
	if err != nil {
		return lambda.Result{}, fmt.Errorf("move AWSCURRENT: %s", rotor.ErrorMessage(err))
	}
	return lambda.Result{Output: "moved AWSCURRENT to " + ev.ClientRequestToken}, nil
}

// GeneratePassword is the Strategy of the built-in function
// "rotor-generate-password": createSecret replaces the "password" field of
// a JSON object value (or, for any other value, the whole value) with a new
// random password, keeping every other byte of the object as written; it
// refuses an object with a key twice, and a value that starts with "{" but
// is not valid JSON. setSecret and testSecret have nothing to do. It suits
// secrets whose every consumer reads them from Rotor (shared webhook keys,
// tokens between two services).
type GeneratePassword struct{}

// Generate implements Strategy.
func (GeneratePassword) Generate(ctx context.Context, current string, password func(context.Context) (string, error)) (string, error) {
	obj, err := parseObjectExact(current)
	switch {
	case errors.Is(err, errDuplicateKey):
		return "", invalidf("AWSCURRENT secret value has a %s: its meaning is ambiguous", err)
	case err != nil && looksLikeObject(current):
		// Meant as JSON but broken: replacing it whole would lose what
		// the user stored.
		return "", invalidf("AWSCURRENT secret value starts like a JSON object but is not valid JSON")
	case err != nil:
		return wholeValuePassword(ctx, password)
	}
	pw, err := password(ctx)
	if err != nil {
		return "", fmt.Errorf("generate password: %s", rotor.ErrorMessage(err))
	}
	return obj.with(field{KeyPassword, pw})
}

// looksLikeObject reports whether v starts like a JSON object.
func looksLikeObject(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "{") }

// maxPasswordDraws bounds the passwords wholeValuePassword draws.
const maxPasswordDraws = 64

// wholeValuePassword returns a new password to be the whole secret value.
// It never returns one that starts like a JSON object: the next rotation
// would take it for a broken object and refuse it (a password drawn from
// all printable characters starts with "{" about once in 94 rotations).
func wholeValuePassword(ctx context.Context, password func(context.Context) (string, error)) (string, error) {
	for range maxPasswordDraws {
		pw, err := password(ctx)
		if err != nil {
			return "", fmt.Errorf("generate password: %s", rotor.ErrorMessage(err))
		}
		if !looksLikeObject(pw) {
			return pw, nil
		}
	}
	return "", fmt.Errorf("generate password: %d passwords in a row started with \"{\", which the next rotation would take for a broken JSON object; exclude \"{\" from the password's characters", maxPasswordDraws)
}

// NeedsMaster implements MasterUser: there is no administrator.
func (GeneratePassword) NeedsMaster() bool { return false }

// Set implements Strategy: there is no target to change.
func (GeneratePassword) Set(context.Context, Values) error { return nil }

// Test implements Strategy: the pending value must be readable, which the
// engine already proved by reading it.
func (GeneratePassword) Test(_ context.Context, v Values) error {
	if v.Pending == "" {
		return fmt.Errorf("pending value is empty")
	}
	return nil
}
