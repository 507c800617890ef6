package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rotorhq/rotor/awsapi"
)

// rawRotorCall calls Rotor's own operation op on s as its admin and
// returns the answer exactly as the server sent it.
func rawRotorCall(t *testing.T, s *testServer, op string, in any) json.RawMessage {
	t.Helper()
	c := &apiClient{endpoint: s.URL(), region: s.Region, http: &http.Client{},
		creds: credentials.NewStaticCredentialsProvider(s.KeyID, s.Secret, "")}
	var out json.RawMessage
	if err := c.call(context.Background(), op, in, &out); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// indented is raw as --output json prints it.
func indented(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "    "); err != nil {
		t.Fatal(err)
	}
	return buf.String() + "\n"
}

// tableRows splits a table into its header and rows of cells, reading the
// columns' positions from the header (cells are separated by at least two
// spaces and start under their header).
func tableRows(t *testing.T, table string) (header []string, rows []map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	starts := []int{0}
	for _, m := range regexp.MustCompile(`  +`).FindAllStringIndex(lines[0], -1) {
		starts = append(starts, m[1])
	}
	cut := func(line string) []string {
		var cells []string
		for i, st := range starts {
			end := len(line)
			if i+1 < len(starts) && starts[i+1] < len(line) {
				end = starts[i+1]
			}
			if st > len(line) {
				cells = append(cells, "")
				continue
			}
			cells = append(cells, strings.TrimSpace(line[st:end]))
		}
		return cells
	}
	header = cut(lines[0])
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i, c := range cut(l) {
			row[header[i]] = c
		}
		rows = append(rows, row)
	}
	return header, rows
}

// TestCLIOutputTablesAndJSON: by default the listing commands print
// aligned tables with dates in the zone $TZ names; with --output json (or
// -o json) they print the server's answer unchanged.
func TestCLIOutputTablesAndJSON(t *testing.T) {
	s := MustRunMain(t, "", nil)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	cl := func(tz string, args ...string) string {
		t.Helper()
		env := adminEnv(s)
		env["TZ"] = tz
		code, out, errOut := runCLI(t, env, append(args, "--endpoint", s.URL())...)
		if code != 0 {
			t.Fatalf("rotor %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	cl("UTC", "identity", "create", "ops", "--role", "read-only")

	raw := rawRotorCall(t, s, "ListIdentities", awsapi.ListIdentitiesInput{})
	for _, flag := range [][]string{{"--output", "json"}, {"-o", "json"}, {"--output=json"}} {
		if got := cl("UTC", append([]string{"identity", "list"}, flag...)...); got != indented(t, raw) {
			t.Errorf("identity list %s printed\n%s\nwant the server's answer\n%s", flag, got, indented(t, raw))
		}
	}
	var ids awsapi.ListIdentitiesOutput
	if err := json.Unmarshal(raw, &ids); err != nil {
		t.Fatal(err)
	}
	for _, zone := range []struct {
		tz  string
		loc *time.Location
	}{{"Asia/Kolkata", kolkata}, {"UTC", time.UTC}, {":Asia/Kolkata", kolkata}} {
		header, rows := tableRows(t, cl(zone.tz, "identity", "list"))
		if strings.Join(header, "|") != "NAME|ROLE|CREATED|ACCESS KEYS" {
			t.Fatalf("identity list header = %q", header)
		}
		if len(rows) != len(ids.Identities) {
			t.Fatalf("TZ=%s: %d rows for %d identities", zone.tz, len(rows), len(ids.Identities))
		}
		for i, id := range ids.Identities {
			want := map[string]string{"NAME": id.Name, "ROLE": id.Role, "CREATED": id.CreatedDate.In(zone.loc).Format("2006-01-02 15:04:05 MST"),
				"ACCESS KEYS": accessKeys(id.AccessKeys)}
			for k, v := range want {
				if rows[i][k] != v {
					t.Errorf("TZ=%s row %d %s = %q, want %q", zone.tz, i, k, rows[i][k], v)
				}
			}
		}
		if zone.loc == kolkata && !strings.HasSuffix(rows[0]["CREATED"], " IST") {
			t.Errorf("TZ=%s: date %q is not in India Standard Time", zone.tz, rows[0]["CREATED"])
		}
	}

	raw = rawRotorCall(t, s, "ListKeys", awsapi.ListKeysInput{})
	if got := cl("UTC", "keys", "list", "-o", "json"); got != indented(t, raw) {
		t.Errorf("keys list -o json = %s, want %s", got, indented(t, raw))
	}
	var keys awsapi.ListKeysOutput
	json.Unmarshal(raw, &keys)
	header, rows := tableRows(t, cl("Asia/Kolkata", "keys", "list"))
	if strings.Join(header, "|") != "KEY ID|STATE|CREATED|DATA KEYS" || len(rows) != 1 {
		t.Fatalf("keys list: %q %v", header, rows)
	}
	k := keys.Keys[0]
	if rows[0]["KEY ID"] != k.KeyID || rows[0]["STATE"] != "active" || rows[0]["CREATED"] != k.CreatedDate.In(kolkata).Format(timeLayout) ||
		rows[0]["DATA KEYS"] != strconv.Itoa(k.Wrapped) {
		t.Errorf("keys list row = %v, want %+v", rows[0], k)
	}

	// Key/value output of a creation; the JSON form is the whole answer.
	out := cl("Asia/Kolkata", "identity", "create", "dev")
	for _, w := range []string{"Identity:     dev\n", "Role:         (none)\n", " IST\n", "Access keys:  -\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("identity create printed %q, lacking %q", out, w)
		}
	}
	var created awsapi.CreateIdentityOutput
	if err := json.Unmarshal([]byte(cl("UTC", "identity", "create", "qa", "-o", "json")), &created); err != nil || created.Identity.Name != "qa" {
		t.Errorf("identity create -o json: %+v, %v", created, err)
	}

	// An unknown format is a usage error.
	code, _, errOut := runCLI(t, adminEnv(s), "keys", "list", "--endpoint", s.URL(), "-o", "yaml")
	if code != 2 || !strings.Contains(errOut, `--output "yaml" must be table or json`) {
		t.Errorf("-o yaml: exit %d, %q", code, errOut)
	}
}

// TestCLIJSONOutputIsOnlyJSON: with --output json a command whose answer
// is empty prints nothing on standard output, and its confirmation on
// standard error.
func TestCLIJSONOutputIsOnlyJSON(t *testing.T) {
	s := MustRunMain(t, "", nil)
	env := adminEnv(s)
	code, out, _ := runCLI(t, env, "identity", "create", "bob", "-o", "json", "--endpoint", s.URL())
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("identity create -o json: exit %d, %q", code, out)
	}
	code, out, errOut := runCLI(t, env, "identity", "delete", "bob", "-o", "json", "--endpoint", s.URL())
	if code != 0 || out != "" || errOut != "deleted identity bob and its access keys\n" {
		t.Errorf("identity delete -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestCellEscapesControlCharacters: a table cell cannot break the columns
// or send escape sequences to the terminal.
func TestCellEscapesControlCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"tab\there":       `tab\there`,
		"line\nbreak":     `line\nbreak`,
		"\x1b[31mred":     `\x1b[31mred`,
		"ünïcødé ✓":       "ünïcødé ✓",
		"bell\a and \x7f": `bell\a and \x7f`,
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
	var buf bytes.Buffer
	writeTable(&buf, []string{"A", "B"}, [][]string{{"x\ty", "z"}})
	if got := buf.String(); got != "A     B\nx\\ty  z\n" {
		t.Errorf("table = %q", got)
	}
}
