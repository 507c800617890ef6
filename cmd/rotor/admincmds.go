package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// The client commands over Rotor's own operations (rotor.<Op>): backup,
// identities, access keys, key-encryption keys and rotation runs. Each
// prints the answer for people by default and unchanged with --output json.

// client returns the API client for the client flags, built on first use.
func (x *cmdline) client(ctx context.Context) (*apiClient, error) {
	if x.api == nil {
		c, err := newAPIClient(ctx, x.endpoint, x.region, x.profile)
		if err != nil {
			return nil, err
		}
		x.api = c
	}
	return x.api, nil
}

// rotorCall calls Rotor's own operation op and returns the raw answer.
func (x *cmdline) rotorCall(ctx context.Context, op string, in any) (json.RawMessage, error) {
	c, err := x.client(ctx)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.call(ctx, op, in, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// simple is the setup of a client command that calls op with the input
// built from its positional arguments and confirms with the message built
// from them (the answer is empty).
func simple(op string, in func(pos []string) any, msg func(pos []string) string) func(*flag.FlagSet, *cmdline) action {
	return func(_ *flag.FlagSet, x *cmdline) action {
		return func(ctx context.Context, pos, _ []string) error {
			raw, err := x.rotorCall(ctx, op, in(pos))
			if err != nil {
				return err
			}
			if x.output == outputJSON && !isEmptyAnswer(raw) {
				return printJSON(x.stdout, raw)
			}
			return x.done("%s", msg(pos))
		}
	}
}

func setupIdentityCreate(fs *flag.FlagSet, x *cmdline) action {
	role := fs.String("role", "", "admin or read-only: attach that built-in policy (default: none, no rights until given a policy)")
	return func(ctx context.Context, pos, _ []string) error {
		raw, err := x.rotorCall(ctx, "CreateIdentity", awsapi.CreateIdentityInput{Name: pos[0], Role: *role})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.CreateIdentityOutput](raw)
			if err != nil {
				return err
			}
			return x.writeIdentity(&out.Identity)
		})
	}
}

// roleName shows an identity's role ("" = none).
func roleName(r string) string {
	if r == "" {
		return "(none)"
	}
	return r
}

func (x *cmdline) writeIdentity(id *awsapi.Identity) error {
	return writeFields(x.stdout, "", []field{
		{"Identity", id.Name}, {"Role", roleName(id.Role)}, {"Created", x.date(id.CreatedDate)}, {"Access keys", accessKeys(id.AccessKeys)},
	})
}

// accessKeys shows an identity's keys as "AKIA... (Active), ...".
func accessKeys(keys []awsapi.AccessKeySummary) string {
	if len(keys) == 0 {
		return "-"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.AccessKeyID + " (" + k.Status + ")"
	}
	return strings.Join(parts, ", ")
}

func setupIdentityList(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, _, _ []string) error {
		raw, err := x.rotorCall(ctx, "ListIdentities", awsapi.ListIdentitiesInput{})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.ListIdentitiesOutput](raw)
			if err != nil {
				return err
			}
			rows := make([][]string, len(out.Identities))
			for i, id := range out.Identities {
				rows[i] = []string{id.Name, roleName(id.Role), x.date(id.CreatedDate), accessKeys(id.AccessKeys)}
			}
			return writeTable(x.stdout, []string{"NAME", "ROLE", "CREATED", "ACCESS KEYS"}, rows)
		})
	}
}

var setupIdentityDelete = simple("DeleteIdentity",
	func(pos []string) any { return awsapi.DeleteIdentityInput{Name: pos[0]} },
	func(pos []string) string { return "deleted identity " + pos[0] + " and its access keys" })

var setupPolicyDelete = simple("DeleteIdentityPolicy",
	func(pos []string) any { return awsapi.DeleteIdentityPolicyInput{Name: pos[0]} },
	func(pos []string) string { return "deleted the inline policy of identity " + pos[0] })

// setupPolicyPut sends the file byte for byte; "-" reads standard input.
func setupPolicyPut(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, pos, _ []string) error {
		var doc []byte
		var err error
		if pos[1] == "-" {
			doc, err = io.ReadAll(x.stdin)
		} else {
			doc, err = os.ReadFile(pos[1])
		}
		if err != nil {
			return fmt.Errorf("read policy document: %w", err)
		}
		raw, err := x.rotorCall(ctx, "PutIdentityPolicy", awsapi.PutIdentityPolicyInput{Name: pos[0], PolicyDocument: string(doc)})
		if err != nil {
			return err
		}
		if x.output == outputJSON && !isEmptyAnswer(raw) {
			return printJSON(x.stdout, raw)
		}
		return x.done("set the inline policy of identity %s", pos[0])
	}
}

// setupPolicyGet prints the document exactly as it was put (for people;
// as secret get, a newline is added only on a terminal) or the whole
// answer (JSON).
func setupPolicyGet(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, pos, _ []string) error {
		raw, err := x.rotorCall(ctx, "GetIdentityPolicy", awsapi.GetIdentityPolicyInput{Name: pos[0]})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.GetIdentityPolicyOutput](raw)
			if err != nil {
				return err
			}
			doc := out.PolicyDocument
			if isTerminal(x.stdout) && !strings.HasSuffix(doc, "\n") {
				doc += "\n"
			}
			_, err = io.WriteString(x.stdout, doc)
			return err
		})
	}
}

func setupAccessKeyStatus(status string) func(*flag.FlagSet, *cmdline) action {
	return simple("UpdateAccessKey",
		func(pos []string) any { return awsapi.UpdateAccessKeyInput{AccessKeyID: pos[0], Status: status} },
		func(pos []string) string { return "access key " + pos[0] + " is now " + status })
}

var setupAccessKeyDelete = simple("DeleteAccessKey",
	func(pos []string) any { return awsapi.DeleteAccessKeyInput{AccessKeyID: pos[0]} },
	func(pos []string) string { return "deleted access key " + pos[0] })

func setupKeysList(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, _, _ []string) error {
		raw, err := x.rotorCall(ctx, "ListKeys", awsapi.ListKeysInput{})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.ListKeysOutput](raw)
			if err != nil {
				return err
			}
			rows := make([][]string, len(out.Keys))
			for i, k := range out.Keys {
				active := "inactive" // kept to unwrap the data keys it still wraps
				if k.Active {
					active = "active"
				}
				rows[i] = []string{k.KeyID, active, x.date(k.CreatedDate), strconv.Itoa(k.Wrapped)}
			}
			return writeTable(x.stdout, []string{"KEY ID", "STATE", "CREATED", "DATA KEYS"}, rows)
		})
	}
}

func setupKeysRotate(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, _, _ []string) error {
		raw, err := x.rotorCall(ctx, "RotateKeys", awsapi.RotateKeysInput{})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.RotateKeysOutput](raw)
			if err != nil {
				return err
			}
			fmt.Fprintf(x.stdout, "New active key-encryption key %s; every data key is re-wrapped under it.\n", out.Key.KeyID)
			return writeFields(x.stdout, "", []field{
				{"Key ID", out.Key.KeyID}, {"Created", x.date(out.Key.CreatedDate)}, {"Data keys", strconv.Itoa(out.Key.Wrapped)},
			})
		})
	}
}

var setupKeysRetire = simple("RetireKey",
	func(pos []string) any { return awsapi.RetireKeyInput{KeyID: pos[0]} },
	func(pos []string) string {
		return "retired key-encryption key " + pos[0] + ": it is gone from the keyring; backups taken before now need the key file as it was before this retire"
	})

// runLimit registers --limit for the run listings.
func runLimit(fs *flag.FlagSet) *int {
	return fs.Int("limit", 0, fmt.Sprintf("at most this many runs, newest first (1-%d; default 100)", awsapi.MaxRunResults))
}

func setupRotationList(fs *flag.FlagSet, x *cmdline) action {
	failed := fs.Bool("failed", false, "only failed runs (same as --status failed)")
	status := fs.String("status", "", "only runs in this state: pending, running, succeeded, failed, cancelled or abandoned")
	limit := runLimit(fs)
	return func(ctx context.Context, _, _ []string) error {
		in := awsapi.ListRotationRunsInput{Status: *status, MaxResults: *limit}
		if *failed {
			in.Status = "failed"
		}
		raw, err := x.rotorCall(ctx, "ListRotationRuns", in)
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.ListRotationRunsOutput](raw)
			if err != nil {
				return err
			}
			rows := make([][]string, len(out.Runs))
			for i, r := range out.Runs {
				step := r.Step // the step to run next, or where the run stopped
				if r.Status == rotor.RunSucceeded {
					step = "-" // every step ran
				}
				rows[i] = []string{x.date(r.Created), secretName(r.SecretARN), r.Kind, r.Status, step,
					fmt.Sprintf("%d/%d", r.Attempt, r.MaxAttempts), r.RunID, oneLine(r.LastError)}
			}
			return writeTable(x.stdout, []string{"CREATED", "SECRET", "KIND", "STATUS", "STEP", "ATTEMPT", "RUN ID", "LAST ERROR"}, rows)
		})
	}
}

// oneLine joins the lines of s with " / ", for a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " / ")), " ")
}

func setupRotationHistory(fs *flag.FlagSet, x *cmdline) action {
	limit := runLimit(fs)
	return func(ctx context.Context, pos, _ []string) error {
		raw, err := x.rotorCall(ctx, "RotationHistory", awsapi.RotationHistoryInput{SecretID: pos[0], MaxResults: *limit})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.RotationHistoryOutput](raw)
			if err != nil {
				return err
			}
			return x.writeRuns(out.Runs)
		})
	}
}

// writeRuns shows rotation runs, newest first, each with its steps.
func (x *cmdline) writeRuns(runs []awsapi.RunHistory) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(x.stdout, "No rotation runs.")
		return err
	}
	for i, h := range runs {
		r := h.Run
		if i > 0 {
			fmt.Fprintln(x.stdout)
		}
		fmt.Fprintf(x.stdout, "Run %s: %s, %s\n", r.RunID, r.Kind, r.Status)
		fields := []field{
			{"Secret", r.SecretARN},
			{"Version", r.VersionID},
			{"Function", r.FunctionARN},
			{"Attempt", fmt.Sprintf("%d of %d", r.Attempt, r.MaxAttempts)},
			{"Created", x.date(r.Created)},
			{"Updated", x.date(r.Updated)},
		}
		if r.Status == "pending" || r.Status == "running" {
			fields = append(fields, field{"Next step", r.Step})
			if !r.NextAttempt.IsZero() {
				fields = append(fields, field{"Next attempt", x.date(r.NextAttempt)})
			}
		} else {
			fields = append(fields, field{"Finished", x.date(r.Finished)})
		}
		if r.LastError != "" {
			fields = append(fields, field{"Last error", oneLine(r.LastError)})
		}
		if err := writeFields(x.stdout, "  ", fields); err != nil {
			return err
		}
		if len(h.Steps) == 0 {
			continue
		}
		fmt.Fprintln(x.stdout)
		rows := make([][]string, len(h.Steps))
		for j, s := range h.Steps {
			rows[j] = []string{"  " + s.Step, strconv.Itoa(s.Attempt), x.date(s.Started),
				(time.Duration(s.DurationMillis) * time.Millisecond).String(), s.Outcome, oneLine(s.Error)}
		}
		if err := writeTable(x.stdout, []string{"  STEP", "ATTEMPT", "STARTED", "DURATION", "OUTCOME", "ERROR"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func setupRotationAbandon(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, pos, _ []string) error {
		raw, err := x.rotorCall(ctx, "AbandonRotation", awsapi.AbandonRotationInput{SecretID: pos[0]})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[awsapi.AbandonRotationOutput](raw)
			if err != nil {
				return err
			}
			name := out.Name
			if name == "" {
				name = pos[0]
			}
			if out.VersionID == "" {
				return x.done("abandoned the rotation of %s", name)
			}
			return x.done("abandoned the rotation of %s to version %s; AWSPENDING is removed", name, out.VersionID)
		})
	}
}

// setupAccessKeyCreate creates an access key and shows it once, or, with
// --write-profile P, writes it as profile P of a shared-credentials file
// and shows only the key id and where it went: the secret is never
// printed then.
func setupAccessKeyCreate(fs *flag.FlagSet, x *cmdline) action {
	profile := fs.String("write-profile", "", "write the key as this profile of the credentials file instead of printing its secret")
	file := fs.String("credentials-file", "", "with --write-profile: the file (default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)")
	return func(ctx context.Context, pos, _ []string) error {
		if *file != "" && *profile == "" {
			return usageError("--credentials-file goes with --write-profile")
		}
		if *profile == "" {
			raw, err := x.rotorCall(ctx, "CreateAccessKey", awsapi.CreateAccessKeyInput{Identity: pos[0]})
			if err != nil {
				return err
			}
			return x.show(raw, func() error {
				out, err := decode[awsapi.CreateAccessKeyOutput](raw)
				if err != nil {
					return err
				}
				k := out.AccessKey
				if err := writeFields(x.stdout, "", []field{
					{"Access key id", k.AccessKeyID}, {"Secret access key", k.SecretAccessKey},
					{"Identity", k.Identity}, {"Status", k.Status}, {"Created", x.date(k.CreatedDate)},
				}); err != nil {
					return err
				}
				_, err = fmt.Fprintln(x.stdout, "The secret access key is shown only this once: store it now (or use --write-profile next time).")
				return err
			})
		}
		return x.createKeyIntoProfile(ctx, pos[0], *profile, *file)
	}
}

// createKeyIntoProfile is access-key create --write-profile. Everything
// that could stop the write is checked before the key is created; if the
// write fails anyway, the new key is deleted again.
func (x *cmdline) createKeyIntoProfile(ctx context.Context, identity, profile, file string) error {
	if err := validProfileName(profile); err != nil {
		return usageError(err.Error())
	}
	path, err := credentialsFilePath(file, x.getenv)
	if err != nil {
		return err
	}
	cf, err := readCredentialsFile(path)
	if err != nil {
		return err
	}
	if file == "" && inDataDir(cf) {
		return errAdminCredentialsFile(cf.path)
	}
	replaced := profileValue(cf.content, profile, "aws_access_key_id")
	c, err := x.client(ctx)
	if err != nil {
		return err
	}
	// Never overwrite the key this very command signs with: that is how
	// an admin would lose the only copy of their own key.
	if old := profileValue(cf.content, profile, "aws_access_key_id"); old != "" && c.creds != nil {
		if signing, err := c.creds.Retrieve(ctx); err == nil && signing.AccessKeyID == old {
			return fmt.Errorf("profile %s in %s holds the access key this command signs with (%s): writing over it would lose that key; choose another profile (nothing was created)", profile, cf.path, old)
		}
	}
	var out awsapi.CreateAccessKeyOutput
	if err := c.call(ctx, "CreateAccessKey", awsapi.CreateAccessKeyInput{Identity: identity}, &out); err != nil {
		return err
	}
	k := out.AccessKey
	werr := func() error {
		// Read again just before writing, to keep what changed meanwhile.
		cf, err := readCredentialsFile(path)
		if err != nil {
			return err
		}
		return cf.write(setProfile(cf.content, profile, [][2]string{
			{"aws_access_key_id", k.AccessKeyID}, {"aws_secret_access_key", k.SecretAccessKey}, {"region", c.region},
		}))
	}()
	if werr != nil {
		if derr := c.call(ctx, "DeleteAccessKey", awsapi.DeleteAccessKeyInput{AccessKeyID: k.AccessKeyID}, nil); derr != nil {
			return fmt.Errorf("%w; the new access key %s could not be deleted either (%v): delete it with 'rotor access-key delete %s'",
				werr, k.AccessKeyID, derr, k.AccessKeyID)
		}
		return fmt.Errorf("%w (the new access key %s was deleted again)", werr, k.AccessKeyID)
	}
	if replaced == k.AccessKeyID {
		replaced = ""
	}
	if x.output == outputJSON {
		raw, err := json.Marshal(struct {
			AccessKey           any
			Profile             string
			CredentialsFile     string
			ReplacedAccessKeyID string `json:"ReplacedAccessKeyId,omitempty"`
		}{struct {
			AccessKeyID string           `json:"AccessKeyId"`
			Identity    string           `json:"Identity"`
			Status      string           `json:"Status"`
			CreatedDate awsapi.Timestamp `json:"CreatedDate,omitzero"`
		}{k.AccessKeyID, k.Identity, k.Status, k.CreatedDate}, profile, cf.path, replaced})
		if err != nil {
			return err
		}
		return printJSON(x.stdout, raw)
	}
	fmt.Fprintf(x.stdout, "Created access key %s for identity %s and wrote it to profile %s in %s (mode %04o).\n",
		k.AccessKeyID, k.Identity, profile, cf.path, cf.mode)
	if replaced != "" {
		// Its secret is gone from the file, but a Rotor key stays active
		// on the server until deleted.
		fmt.Fprintf(x.stdout, "It replaces access key %s in that profile; if that key is Rotor's, it still works until you delete it: rotor access-key delete %s\n",
			replaced, replaced)
	}
	// The file is named unless the AWS tools of this environment read it
	// already: it is the default and $AWS_SHARED_CREDENTIALS_FILE names
	// no other.
	use := "AWS_PROFILE=" + profile
	if current, _ := credentialsFilePath("", x.getenv); current != cf.path {
		use = "AWS_SHARED_CREDENTIALS_FILE=" + cf.path + " " + use
	}
	_, err = fmt.Fprintf(x.stdout, "Use it with: export %s\n", use)
	return err
}
