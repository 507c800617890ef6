package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// fileMode is the mode of a key file: readable and writable by its owner
// only. LoadFile refuses a file that grants any access to group or other.
const fileMode fs.FileMode = 0o600

// maxIDLength bounds key ids read from a key file.
const maxIDLength = 128

// fileDoc is the key-file document as read.
type fileDoc struct {
	Active string    `json:"active"`
	Keys   []fileKey `json:"keys"`
}

type fileKey struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Created string `json:"created"`
}

// fileKeyOut is one key as written; encoding/json encodes []byte as
// standard base64 without an intermediate string.
type fileKeyOut struct {
	ID      string `json:"id"`
	Key     []byte `json:"key"`
	Created string `json:"created"`
}

type fileDocOut struct {
	Active string       `json:"active"`
	Keys   []fileKeyOut `json:"keys"`
}

// Parse reads a keyring from data, which is either the key-file JSON
// document (see the package documentation) or a single standard-base64
// 32-byte key, surrounding white space allowed. A bare key gets the id
// "env-" + the first 8 hex digits of its SHA-256, no creation time, and is
// active. Key ids in a document are 1-128 characters of ASCII letters,
// digits, '.', '_' and '-', and must be unique; the active id must name one
// of the keys; created times are RFC 3339 (or empty).
//
// It returns EINVALID for anything else. The message says what is wrong
// and where (by position, such as keys[1].key) and never repeats any part
// of data, so key material cannot leak into logs.
func Parse(data []byte) (*Keyring, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, rotor.Errorf(rotor.EINVALID, "the key data is empty")
	case trimmed[0] == '{':
		return parseDocument(trimmed)
	default:
		return parseBareKey(trimmed)
	}
}

func parseBareKey(data []byte) (*Keyring, error) {
	key, err := decodeKey(string(data))
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINVALID,
			Message: "the key data is neither a key-file JSON document nor a base64-encoded 32-byte key: " + err.Error()}
	}
	sum := sha256.Sum256(key)
	id := "env-" + hex.EncodeToString(sum[:4])
	kk, err := newKEK(id, key, time.Time{})
	if err != nil {
		clear(key)
		return nil, &rotor.Error{Code: rotor.EINVALID, Message: "the key cannot be used for AES-256-GCM"}
	}
	return newKeyring([]*kek{kk}, id), nil
}

// decodeKey decodes standard base64 (padded or not) into exactly keySize
// bytes. Its errors describe the problem without quoting s.
func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return nil, fmt.Errorf("not valid base64 (bad data at byte %d)", int64(corrupt))
		}
		return nil, errors.New("not valid base64")
	}
	if len(key) != keySize {
		n := len(key)
		clear(key)
		return nil, fmt.Errorf("decodes to %d bytes, a key must be %d bytes", n, keySize)
	}
	return key, nil
}

func parseDocument(data []byte) (*Keyring, error) {
	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, rotor.Errorf(rotor.EINVALID, "the key file is not a valid keyring document: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, rotor.Errorf(rotor.EINVALID, "the key file has data after its JSON document")
	}
	if len(doc.Keys) == 0 {
		return nil, rotor.Errorf(rotor.EINVALID, "the key file holds no keys")
	}
	keys := make([]*kek, 0, len(doc.Keys))
	wipe := func() {
		for _, kk := range keys {
			clear(kk.key)
		}
	}
	seen := make(map[string]bool, len(doc.Keys))
	for i, fk := range doc.Keys {
		if !validID(fk.ID) {
			wipe()
			return nil, rotor.Errorf(rotor.EINVALID,
				"keys[%d].id is not a valid key id (1-%d characters of letters, digits, '.', '_' and '-')", i, maxIDLength)
		}
		if seen[fk.ID] {
			wipe()
			return nil, rotor.Errorf(rotor.EINVALID, "keys[%d].id repeats the id of an earlier key", i)
		}
		seen[fk.ID] = true
		key, err := decodeKey(fk.Key)
		if err != nil {
			wipe()
			return nil, rotor.Errorf(rotor.EINVALID, "keys[%d].key is %v", i, err)
		}
		var created time.Time
		if fk.Created != "" {
			if created, err = time.Parse(time.RFC3339, fk.Created); err != nil {
				clear(key)
				wipe()
				return nil, rotor.Errorf(rotor.EINVALID, "keys[%d].created is not an RFC 3339 time", i)
			}
		}
		kk, err := newKEK(fk.ID, key, created)
		if err != nil {
			clear(key)
			wipe()
			return nil, rotor.Errorf(rotor.EINVALID, "keys[%d].key cannot be used for AES-256-GCM", i)
		}
		keys = append(keys, kk)
	}
	if doc.Active == "" {
		wipe()
		return nil, rotor.Errorf(rotor.EINVALID, "the key file names no active key")
	}
	if !seen[doc.Active] {
		wipe()
		return nil, rotor.Errorf(rotor.EINVALID, "the key file's active id does not name any of its keys")
	}
	return newKeyring(keys, doc.Active), nil
}

// describeJSONError explains a decoding error without quoting the input
// (a syntax error's text may contain a character of it).
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s has the wrong type", typ.Field)
		}
		return "the document is not a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the document is truncated"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "it has a field other than active, keys, id, key and created"
	default:
		return "it cannot be decoded"
	}
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// LoadFile reads the keyring stored at path (see Parse for the format).
// It returns ENOTFOUND if the file does not exist (the error then also
// matches fs.ErrNotExist); EINVALID if the file is not a regular file,
// grants group or other users any access (its mode must be 0600 or
// stricter; the message gives the mode found), or does not parse; and
// EINTERNAL if it cannot be read.
func LoadFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &rotor.Error{Code: rotor.ENOTFOUND, Message: fmt.Sprintf("key file %s does not exist", path), Err: err}
	} else if err != nil {
		return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf("cannot open key file %s", path), Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf("cannot stat key file %s", path), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, rotor.Errorf(rotor.EINVALID, "key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, rotor.Errorf(rotor.EINVALID,
			"key file %s has mode %04o, which lets group or other users access it; it must have mode %04o (chmod %o %s)",
			path, perm, fileMode, fileMode, path)
	}
	data, err := io.ReadAll(f)
	defer clear(data)
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf("cannot read key file %s", path), Err: err}
	}
	kr, err := Parse(data)
	if err != nil {
		var re *rotor.Error
		if errors.As(err, &re) {
			return nil, &rotor.Error{Code: re.Code, Message: fmt.Sprintf("key file %s: %s", path, re.Message), Err: re.Err}
		}
		return nil, err
	}
	return kr, nil
}

// LoadOrCreateFile loads the keyring at path, or, if no file exists there,
// generates one (see Generate), creates the missing parent directories
// with mode 0700 and writes the file with mode 0600. created reports
// whether it made a new file. Creation never replaces a file: if another
// process creates path first, that file is loaded instead. Errors are
// those of LoadFile and SaveFile.
func LoadOrCreateFile(path string) (kr *Keyring, created bool, err error) {
	kr, err = LoadFile(path)
	if err == nil {
		return kr, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, &rotor.Error{Code: rotor.EINTERNAL,
			Message: fmt.Sprintf("cannot create the directory of key file %s", path), Err: err}
	}
	kr, err = Generate()
	if err != nil {
		return nil, false, err
	}
	data, err := kr.marshal()
	if err != nil {
		return nil, false, err
	}
	defer clear(data)
	err = writeFileAtomic(path, data, true)
	if errors.Is(err, fs.ErrExist) {
		kr, err = LoadFile(path)
		return kr, false, err
	} else if err != nil {
		return nil, false, &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf("cannot write key file %s", path), Err: err}
	}
	return kr, true, nil
}

// SaveFile writes the keyring to path atomically with mode 0600: it writes
// a temporary file in the same directory, syncs it, renames it over path
// and syncs the directory, so path always holds either the old or the new
// keyring, never a mix. It returns ESTATE for an empty keyring and
// EINTERNAL if the file cannot be written.
func (k *Keyring) SaveFile(path string) error {
	data, err := k.marshal()
	if err != nil {
		return err
	}
	defer clear(data)
	if err := writeFileAtomic(path, data, false); err != nil {
		return &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf("cannot write key file %s", path), Err: err}
	}
	return nil
}

// marshal encodes the keyring as the key-file document; the caller wipes
// the result.
func (k *Keyring) marshal() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.order) == 0 || k.keys[k.active] == nil {
		return nil, rotor.Errorf(rotor.ESTATE, "the keyring is empty")
	}
	doc := fileDocOut{Active: k.active, Keys: make([]fileKeyOut, 0, len(k.order))}
	for _, id := range k.order {
		kk := k.keys[id]
		doc.Keys = append(doc.Keys, fileKeyOut{ID: id, Key: kk.key, Created: kk.created.UTC().Format(time.RFC3339)})
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot encode the keyring", Err: err}
	}
	return append(data, '\n'), nil
}

// writeFileAtomic writes data to a temporary file next to path (mode 0600),
// syncs it and moves it to path, then syncs the directory. With noClobber
// it never replaces an existing path and returns an error matching
// fs.ErrExist instead.
func writeFileAtomic(path string, data []byte, noClobber bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if noClobber {
		err = moveNoClobber(tmpName, path)
	} else {
		err = os.Rename(tmpName, path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// moveNoClobber moves tmp to path unless path exists. It hard-links, which
// fails atomically if path exists; on file systems without hard links it
// falls back to a checked rename.
func moveNoClobber(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil {
		os.Remove(tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, serr := os.Lstat(path); serr == nil {
		return fmt.Errorf("create key file: %w", fs.ErrExist)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename temporary file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
