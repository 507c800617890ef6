package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// `rotor secret ls|get|put|rotate|history`: the everyday Secrets Manager
// operations for people without the AWS CLI. They call the same API as any
// AWS client (secretsmanager.<Op>, signed for the service
// "secretsmanager"), so an identity needs the same secretsmanager:*
// permissions, and the JSON output is the server's answer as the AWS CLI
// would print it.

// smCall calls Secrets Manager operation op and returns the raw answer.
func (x *cmdline) smCall(ctx context.Context, op string, in any) (json.RawMessage, error) {
	c, err := x.client(ctx)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.callService(ctx, "secretsmanager", op, in, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Wire shapes of the answers, as far as the commands show them.
type (
	smListEntry struct {
		Name             string           `json:"Name"`
		LastChangedDate  awsapi.Timestamp `json:"LastChangedDate"`
		RotationEnabled  bool             `json:"RotationEnabled"`
		NextRotationDate awsapi.Timestamp `json:"NextRotationDate"`
		DeletedDate      awsapi.Timestamp `json:"DeletedDate"`
	}
	smValue struct {
		ARN          string  `json:"ARN"`
		Name         string  `json:"Name"`
		VersionID    string  `json:"VersionId"`
		SecretString *string `json:"SecretString"`
		SecretBinary []byte  `json:"SecretBinary"`
	}
	smVersionResult struct {
		ARN       string `json:"ARN"`
		Name      string `json:"Name"`
		VersionID string `json:"VersionId"`
	}
	smVersion struct {
		VersionID        string           `json:"VersionId"`
		VersionStages    []string         `json:"VersionStages"`
		CreatedDate      awsapi.Timestamp `json:"CreatedDate"`
		LastAccessedDate awsapi.Timestamp `json:"LastAccessedDate"`
	}
)

// filterFlag collects --filter KEY=VALUE flags into ListSecrets filters:
// values given for one key are alternatives (OR), different keys must all
// match (AND), as in ListSecrets itself.
type filterFlag struct{ filters []map[string]any }

func (f *filterFlag) String() string { return "" }

func (f *filterFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || key == "" {
		return errors.New("want KEY=VALUE, e.g. name=prod/ (keys: name, description, tag-key, tag-value, primary-region, owning-service, all)")
	}
	for _, m := range f.filters {
		if m["Key"] == key {
			m["Values"] = append(m["Values"].([]string), value)
			return nil
		}
	}
	f.filters = append(f.filters, map[string]any{"Key": key, "Values": []string{value}})
	return nil
}

func setupSecretList(fs *flag.FlagSet, x *cmdline) action {
	var filters filterFlag
	fs.Var(&filters, "filter", "KEY=VALUE: only secrets whose KEY (name, description, tag-key, tag-value, primary-region, owning-service, all) "+
		"starts with VALUE (\"!VALUE\": does not); repeat for more values (OR) or keys (AND)")
	return func(ctx context.Context, _, _ []string) error {
		var all []json.RawMessage
		in := map[string]any{"MaxResults": 100}
		if len(filters.filters) > 0 {
			in["Filters"] = filters.filters
		}
		for {
			raw, err := x.smCall(ctx, "ListSecrets", in)
			if err != nil {
				return err
			}
			page, err := decode[struct {
				SecretList []json.RawMessage `json:"SecretList"`
				NextToken  string            `json:"NextToken"`
			}](raw)
			if err != nil {
				return err
			}
			all = append(all, page.SecretList...)
			if page.NextToken == "" {
				break
			}
			in["NextToken"] = page.NextToken
		}
		if x.output == outputJSON {
			// Every page's entries, unchanged, as one answer (as the AWS
			// CLI does when it follows NextToken).
			if all == nil {
				all = []json.RawMessage{}
			}
			raw, err := json.Marshal(map[string]any{"SecretList": all})
			if err != nil {
				return err
			}
			return printJSON(x.stdout, raw)
		}
		rows := make([][]string, len(all))
		for i, e := range all {
			s, err := decode[smListEntry](e)
			if err != nil {
				return err
			}
			next := "-"
			if s.RotationEnabled {
				next = x.date(s.NextRotationDate)
			}
			rows[i] = []string{s.Name, x.date(s.LastChangedDate), onOff(s.RotationEnabled), next}
		}
		return writeTable(x.stdout, []string{"NAME", "LAST CHANGED", "ROTATION", "NEXT ROTATION"}, rows)
	}
}

// setupSecretGet prints the value exactly as stored: no newline is added
// and nothing is re-encoded, so `rotor secret get x > file` holds the very
// bytes that were put. Only on a terminal is a newline added after a text
// value that lacks one (so the prompt does not run into it), and a binary
// value is refused there (redirect it, or use --output json).
func setupSecretGet(fs *flag.FlagSet, x *cmdline) action {
	stage := fs.String("version-stage", "", "the version carrying this staging label (default AWSCURRENT)")
	id := fs.String("version-id", "", "the version with this id")
	return func(ctx context.Context, pos, _ []string) error {
		in := map[string]string{"SecretId": pos[0]}
		if *stage != "" {
			in["VersionStage"] = *stage
		}
		if *id != "" {
			in["VersionId"] = *id
		}
		raw, err := x.smCall(ctx, "GetSecretValue", in)
		if err != nil {
			return err
		}
		if x.output == outputJSON {
			return printJSON(x.stdout, raw)
		}
		v, err := decode[smValue](raw)
		if err != nil {
			return err
		}
		tty := isTerminal(x.stdout)
		if v.SecretString == nil {
			if tty {
				return fmt.Errorf("%s holds a binary value (%d bytes): not written to a terminal; redirect standard output to a file, or use --output json", v.Name, len(v.SecretBinary))
			}
			_, err := x.stdout.Write(v.SecretBinary)
			return err
		}
		value := *v.SecretString
		if tty && !strings.HasSuffix(value, "\n") {
			value += "\n"
		}
		_, err = io.WriteString(x.stdout, value)
		return err
	}
}

// maxValueRead bounds what put reads: more bytes than any secret value
// can have (65,536 characters of up to 4 bytes each).
const maxValueRead = 4*rotor.MaxSecretValueBytes + 1

func setupSecretPut(fs *flag.FlagSet, x *cmdline) action {
	value := fs.String("value", "", "the value (visible in the process list and shell history: prefer --value-file or --value-stdin)")
	valueFile := fs.String("value-file", "", "read the value from this file, byte for byte")
	valueStdin := fs.Bool("value-stdin", false, "read the value from standard input, byte for byte")
	binary := fs.Bool("binary", false, "store the value as SecretBinary (any bytes) rather than SecretString (UTF-8 text)")
	return func(ctx context.Context, pos, _ []string) error {
		var sources []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "value" || f.Name == "value-file" || f.Name == "value-stdin" && *valueStdin {
				sources = append(sources, f.Name)
			}
		})
		if len(sources) != 1 {
			return usageError("rotor secret put takes exactly one of --value V, --value-file F and --value-stdin")
		}
		var data []byte
		var err error
		switch sources[0] {
		case "value-file":
			data, err = readValue(*valueFile, nil)
		case "value-stdin":
			data, err = readValue("standard input", x.stdin)
		default:
			data = []byte(*value)
		}
		if err != nil {
			return err
		}
		val := map[string]any{}
		if *binary {
			val["SecretBinary"] = data
		} else {
			if !utf8.Valid(data) {
				return errors.New("the value is not UTF-8 text, which a SecretString must be; store it as SecretBinary with --binary (nothing was stored)")
			}
			val["SecretString"] = string(data)
		}
		put := map[string]any{"SecretId": pos[0], "ClientRequestToken": uuid.NewString()}
		for k, v := range val {
			put[k] = v
		}
		raw, err := x.smCall(ctx, "PutSecretValue", put)
		created := false
		var ae *apiError
		if errors.As(err, &ae) && ae.Type == "ResourceNotFoundException" {
			create := map[string]any{"Name": pos[0], "ClientRequestToken": uuid.NewString()}
			for k, v := range val {
				create[k] = v
			}
			raw, err = x.smCall(ctx, "CreateSecret", create)
			created = true
		}
		if err != nil {
			return err
		}
		if x.output == outputJSON {
			return printJSON(x.stdout, raw)
		}
		out, err := decode[smVersionResult](raw)
		if err != nil {
			return err
		}
		if created {
			return x.done("created secret %s (%s) with version %s", out.Name, out.ARN, out.VersionID)
		}
		return x.done("stored version %s of %s; it is now AWSCURRENT", out.VersionID, out.Name)
	}
}

// readValue reads a value from the file path, or from r (named path) when
// r is not nil, refusing more than any secret value can hold.
func readValue(path string, r io.Reader) ([]byte, error) {
	if r == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read the value: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxValueRead))
	if err != nil {
		return nil, fmt.Errorf("read the value from %s: %w", path, err)
	}
	if len(data) >= maxValueRead {
		return nil, fmt.Errorf("the value in %s is larger than a secret value may be (%d characters or bytes); nothing was stored", path, rotor.MaxSecretValueBytes)
	}
	return data, nil
}

func setupSecretRotate(_ *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, pos, _ []string) error {
		raw, err := x.smCall(ctx, "RotateSecret", map[string]string{"SecretId": pos[0], "ClientRequestToken": uuid.NewString()})
		if err != nil {
			return err
		}
		return x.show(raw, func() error {
			out, err := decode[smVersionResult](raw)
			if err != nil {
				return err
			}
			fmt.Fprintf(x.stdout, "%s\n", out.VersionID)
			fmt.Fprintf(x.stderr, "rotation of %s started: the new version above is AWSPENDING until the run finishes (rotor secret history %s)\n",
				out.Name, out.Name)
			return nil
		})
	}
}

func setupSecretHistory(fs *flag.FlagSet, x *cmdline) action {
	limit := runLimit(fs)
	return func(ctx context.Context, pos, _ []string) error {
		var versions []json.RawMessage
		in := map[string]any{"SecretId": pos[0], "IncludeDeprecated": true, "MaxResults": 100}
		for {
			raw, err := x.smCall(ctx, "ListSecretVersionIds", in)
			if err != nil {
				return err
			}
			page, err := decode[struct {
				Versions  []json.RawMessage `json:"Versions"`
				NextToken string            `json:"NextToken"`
			}](raw)
			if err != nil {
				return err
			}
			versions = append(versions, page.Versions...)
			if page.NextToken == "" {
				break
			}
			in["NextToken"] = page.NextToken
		}
		runsFor := func() (json.RawMessage, error) {
			return x.rotorCall(ctx, "RotationHistory", awsapi.RotationHistoryInput{SecretID: pos[0], MaxResults: *limit})
		}
		if x.output == outputJSON {
			raw, err := runsFor()
			if err != nil {
				return err
			}
			hist, err := decode[struct {
				Runs []json.RawMessage `json:"Runs"`
			}](raw)
			if err != nil {
				return err
			}
			if versions == nil {
				versions = []json.RawMessage{}
			}
			if hist.Runs == nil {
				hist.Runs = []json.RawMessage{}
			}
			both, err := json.Marshal(map[string]any{"Versions": versions, "Runs": hist.Runs})
			if err != nil {
				return err
			}
			return printJSON(x.stdout, both)
		}
		vs := make([]smVersion, len(versions))
		for i, v := range versions {
			if err := json.Unmarshal(v, &vs[i]); err != nil {
				return fmt.Errorf("read the server's answer: %w", err)
			}
		}
		slices.SortStableFunc(vs, func(a, b smVersion) int { return b.CreatedDate.Compare(a.CreatedDate.Time) })
		rows := make([][]string, len(vs))
		for i, v := range vs {
			stages := strings.Join(v.VersionStages, ",")
			if stages == "" {
				stages = "(deprecated)"
			}
			rows[i] = []string{v.VersionID, stages, x.date(v.CreatedDate), x.date(v.LastAccessedDate)}
		}
		fmt.Fprintln(x.stdout, "Versions, newest first:")
		if err := writeTable(x.stdout, []string{"VERSION ID", "STAGES", "CREATED", "LAST ACCESSED"}, rows); err != nil {
			return err
		}
		// The runs come from Rotor's own RotationHistory, which an identity
		// with only secretsmanager:* rights may not call: the versions are
		// shown all the same, and the error says what is missing.
		raw, err := runsFor()
		if err != nil {
			return fmt.Errorf("rotation runs not shown: %w", err)
		}
		runs, err := decode[awsapi.RotationHistoryOutput](raw)
		if err != nil {
			return err
		}
		fmt.Fprintln(x.stdout)
		return x.writeRuns(runs.Runs)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && fileIsTerminal(f)
}
