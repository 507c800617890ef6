package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Writing a profile into an AWS shared-credentials file
// (`rotor access-key create NAME --write-profile P`). The file is edited,
// not regenerated: every line outside profile P, comments included, stays
// byte for byte; in P only the keys Rotor writes are replaced.

// adminCredentialsHeader starts the admin credentials files a server
// writes (credentials at first start, credentials-recovered): files meant
// to be moved into a secret store and deleted (fillCredentials).
const adminCredentialsHeader = "# Rotor admin credentials,"

// inDataDir reports whether f is an admin credentials file a server wrote
// that is still in its data directory (next to rotor.lock).
func inDataDir(f *credentialsFile) bool {
	if !bytes.HasPrefix(f.content, []byte(adminCredentialsHeader)) {
		return false
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(f.path), "rotor.lock"))
	return err == nil
}

// errAdminCredentialsFile refuses to write a profile into path, an admin
// credentials file in a server's data directory that only the environment
// named ($AWS_SHARED_CREDENTIALS_FILE, as the first-start hint exports
// it), not --credentials-file: the file is meant to be deleted, and the
// new key would go with it.
func errAdminCredentialsFile(path string) error {
	return fmt.Errorf("$%s is %s, the admin credentials file a Rotor server wrote, which is to be moved into your secret store and deleted "+
		"(the new key would go with it): name the file to write with --credentials-file, e.g. --credentials-file ~/.aws/credentials (nothing was created)",
		envSharedCredentialsFile, path)
}

// credentialsFilePath is where the profile is written: flagValue, else
// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials (as the AWS SDKs
// and CLI look).
func credentialsFilePath(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	if p := getenv(envSharedCredentialsFile); p != "" {
		return filepath.Abs(p)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find ~/.aws/credentials: %w; name the file with --credentials-file", err)
	}
	return filepath.Join(home, ".aws", "credentials"), nil
}

// validProfileName reports whether name can be a profile's section name.
func validProfileName(name string) error {
	if name == "" || strings.TrimSpace(name) != name || strings.ContainsAny(name, "[]\r\n#;=") {
		return fmt.Errorf("profile name %q must be non-empty, without surrounding spaces, brackets, '#', ';', '=' or line breaks", name)
	}
	return nil
}

// credentialsFile is a shared-credentials file about to be edited.
type credentialsFile struct {
	path    string      // the file itself, after following symbolic links
	content []byte      // nil when the file does not exist yet
	mode    fs.FileMode // the mode to write with
}

// readCredentialsFile reads the file at path for editing. It refuses a
// file that group or others may read or write (a new secret must not land
// in it) and anything but a regular file.
func readCredentialsFile(path string) (*credentialsFile, error) {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); lerr == nil {
			return nil, fmt.Errorf("%s is a symbolic link to a file that does not exist; create the file or name another with --credentials-file", path)
		}
		return &credentialsFile{path: path, mode: 0o600}, nil
	} else if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("credentials file %s is not a regular file", real)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("credentials file %s has mode %04o: group or others may read it, so no secret is written to it (chmod 600 %s, then run again)", real, perm, real)
	}
	content, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	if content == nil {
		content = []byte{}
	}
	return &credentialsFile{path: real, content: content, mode: fi.Mode().Perm()}, nil
}

// write replaces the file atomically with content: a new file of the same
// mode (0600 for a new one) in the same directory, synced, renamed over
// the old one. A missing directory is created with mode 0700.
func (f *credentialsFile) write(content []byte) (err error) {
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".rotor-*")
	if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(f.mode); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// iniLine is one line of a shared-credentials file, with its line ending.
type iniLine struct {
	text, eol string
}

// splitIniLines splits content into lines, keeping each line's ending
// ("\n", "\r\n" or "" for a last line without one).
func splitIniLines(content []byte) []iniLine {
	var lines []iniLine
	for len(content) > 0 {
		i := bytes.IndexByte(content, '\n')
		if i < 0 {
			lines = append(lines, iniLine{text: string(content)})
			break
		}
		text, eol := string(content[:i]), "\n"
		if strings.HasSuffix(text, "\r") {
			text, eol = text[:len(text)-1], "\r\n"
		}
		lines = append(lines, iniLine{text: text, eol: eol})
		content = content[i+1:]
	}
	return lines
}

// sectionName returns the name of a "[name]" line.
func sectionName(text string) (string, bool) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", false
	}
	return strings.TrimSpace(t[1:end]), true
}

// keyName returns the key of a "key = value" line, lower-cased, or "" for
// a comment, blank or other line.
func keyName(text string) string {
	t := strings.TrimSpace(text)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return ""
	}
	k, _, ok := strings.Cut(t, "=")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(k))
}

// profileValue returns the value of key in profile, "" if absent.
func profileValue(content []byte, profile, key string) string {
	in := false
	for _, l := range splitIniLines(content) {
		if name, ok := sectionName(l.text); ok {
			in = name == profile
			continue
		}
		if in && keyName(l.text) == key {
			_, v, _ := strings.Cut(l.text, "=")
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// setProfile returns content with profile holding keys (name, value pairs,
// in order): each key's line in the profile is replaced (later duplicates
// of it are dropped), missing keys are added right after the profile's
// section line, and an aws_session_token the profile had is dropped (it
// belonged to the old key). A missing profile is appended at the end.
// Every other line is kept byte for byte.
func setProfile(content []byte, profile string, keys [][2]string) []byte {
	lines := splitIniLines(content)
	eol := "\n"
	if len(lines) > 0 && lines[0].eol == "\r\n" {
		eol = "\r\n"
	}
	want := map[string]string{}
	for _, kv := range keys {
		want[kv[0]] = kv[1]
	}
	written := map[string]bool{}
	var out bytes.Buffer
	in, found := false, false
	insertAt := -1 // where the keys not found go: after the first section line of profile
	for _, l := range lines {
		if name, ok := sectionName(l.text); ok {
			in = name == profile
			out.WriteString(l.text + l.eol)
			if in && !found {
				found = true
				if l.eol == "" { // a section line that ends the file
					out.WriteString(eol)
				}
				insertAt = out.Len()
			}
			continue
		}
		if in {
			k := keyName(l.text)
			if v, ok := want[k]; ok {
				if !written[k] {
					written[k] = true
					out.WriteString(k + " = " + v + lineEnd(l.eol, eol))
				}
				continue
			}
			if k == "aws_session_token" {
				continue
			}
		}
		out.WriteString(l.text + l.eol)
	}
	var missing bytes.Buffer
	for _, kv := range keys {
		if !written[kv[0]] {
			missing.WriteString(kv[0] + " = " + kv[1] + eol)
		}
	}
	result := out.Bytes()
	if !found {
		if len(result) > 0 && !bytes.HasSuffix(result, []byte("\n")) {
			result = append(result, eol...)
		}
		if len(result) > 0 {
			result = append(result, eol...)
		}
		result = append(result, "["+profile+"]"+eol...)
		return append(result, missing.Bytes()...)
	}
	return slices.Insert(result, insertAt, missing.Bytes()...)
}

// lineEnd is a replaced line's ending: its own, or eol for a last line
// without one (so that nothing can run into the value).
func lineEnd(own, eol string) string {
	if own == "" {
		return eol
	}
	return own
}
