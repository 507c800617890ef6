package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/rotorhq/rotor/awsapi"
)

// Human output. Client commands print, by default (--output table), tables
// aligned with text/tabwriter and key/value lists, with dates in the local
// time zone; with --output json they print the server's answer unchanged
// (indented) and nothing else on standard output.

// timeLayout is how dates are shown: readable, sortable, with the zone.
const timeLayout = "2006-01-02 15:04:05 MST"

// localZone is the zone dates are shown in, read from $TZ at each run as
// the C library does ("" or unset: as Go's time.Local; a name such as
// Europe/Paris, optionally after ":"; an absolute path to a zone file), so
// a process may change TZ between runs. A zone that cannot be loaded falls
// back to UTC, as Go does.
func localZone() *time.Location {
	tz, ok := os.LookupEnv(envTZ)
	switch {
	case !ok:
		return time.Local
	case tz == "" || tz == ":":
		return time.UTC
	}
	tz = strings.TrimPrefix(tz, ":")
	if strings.HasPrefix(tz, "/") {
		data, err := os.ReadFile(tz)
		if err != nil {
			return time.UTC
		}
		loc, err := time.LoadLocationFromTZData(tz, data)
		if err != nil {
			return time.UTC
		}
		return loc
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// date shows t in the local zone; "-" when unset.
func (x *cmdline) date(t awsapi.Timestamp) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(x.loc).Format(timeLayout)
}

// cell makes s safe for one table cell or value: control characters (tabs
// and newlines would break the columns; escape sequences could drive the
// terminal) are shown escaped, as Go quotes them.
func cell(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeTable writes a header and rows in aligned columns.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow := func(r []string) {
		for i, c := range r {
			if i > 0 {
				tw.Write([]byte{'\t'})
			}
			io.WriteString(tw, cell(c))
		}
		tw.Write([]byte{'\n'})
	}
	writeRow(header)
	for _, r := range rows {
		writeRow(r)
	}
	return tw.Flush()
}

// field is one line of a key/value list.
type field struct{ key, value string }

// writeFields writes "Key:  value" lines with the values aligned, each
// prefixed by indent.
func writeFields(w io.Writer, indent string, fields []field) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s%s:\t%s\n", indent, f.key, cell(f.value))
	}
	return tw.Flush()
}

// printJSON writes a response indented, as the AWS CLI does; nothing for
// an empty answer.
func printJSON(w io.Writer, raw json.RawMessage) error {
	if isEmptyAnswer(raw) {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "    "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// isEmptyAnswer reports whether a response carries nothing to print.
func isEmptyAnswer(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "" || t == "{}" || t == "null"
}

// show prints a response: as JSON with --output json, else with human,
// which decodes raw itself.
func (x *cmdline) show(raw json.RawMessage, human func() error) error {
	if x.output == outputJSON {
		return printJSON(x.stdout, raw)
	}
	return human()
}

// decode unmarshals a response for human output.
func decode[T any](raw json.RawMessage) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	return v, nil
}

// done confirms a command whose answer is empty: on standard output for
// people, on standard error with --output json (whose standard output
// holds JSON only).
func (x *cmdline) done(format string, args ...any) error {
	w := x.stdout
	if x.output == outputJSON {
		w = x.stderr
	}
	_, err := fmt.Fprintf(w, format+"\n", args...)
	return err
}

// secretName returns the name in a secret ARN
// (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>), or
// the ARN itself if it is not one.
func secretName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":secret:")
	if !ok || len(rest) < 8 || rest[len(rest)-7] != '-' {
		return arn
	}
	return rest[:len(rest)-7]
}

// yesNo shows a flag as on/off.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
