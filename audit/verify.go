package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Kinds of break Verify reports.
const (
	BreakPartialLine  = "partial-line"  // a line without its newline: the file was cut short
	BreakMalformed    = "malformed"     // not a Rotor audit line (not JSON, or no chain fields)
	BreakEdited       = "edited"        // the line's content does not match its own hash
	BreakMissingLines = "missing-lines" // the sequence skips numbers: lines were deleted
	BreakReordered    = "reordered"     // the sequence goes back: lines were moved or repeated
	BreakChain        = "chain-broken"  // prev is not the previous line's hash: a line was replaced
	BreakMissingFile  = "missing-file"  // the file numbers skip one: a file is missing
	BreakFileOrder    = "file-order"    // the file numbers go back: files swapped or repeated
	BreakFileMismatch = "file-mismatch" // a line names another file than the lines before it in the same file
	BreakEmptyFile    = "empty-file"    // a file other than the newest is empty
	BreakBadStart     = "bad-start"     // the first line of file 1 is not the chain's first line
)

// Break is the first place where the chain does not hold.
type Break struct {
	File   string // path as given to Verify
	Line   int    // 1-based line number in File; 0 for the file as a whole
	Kind   string // one of the Break constants
	Detail string
}

func (b *Break) Error() string {
	if b.Line == 0 {
		return fmt.Sprintf("%s: %s: %s", b.File, b.Kind, b.Detail)
	}
	return fmt.Sprintf("%s:%d: %s: %s", b.File, b.Line, b.Kind, b.Detail)
}

// Summary describes a chain Verify found intact.
type Summary struct {
	Files, Lines        int
	FirstFile, LastFile int64
	FirstSeq, LastSeq   int64
	LastHash            string // hex; record it elsewhere to detect a later truncation
}

// Verify checks the chain through files, given oldest first (the rotated
// files in order, then the active one: `audit.log.* audit.log`). It reads
// the files only. It returns a *Break for the first place the chain does
// not hold, another error when a file cannot be read, or nil with a
// summary of the intact chain.
//
// A chain whose first given file is file 1 must start at its first line;
// one that starts later (older files deleted by retention) is checked from
// where it starts.
func Verify(paths []string) (Summary, error) {
	var (
		sum  Summary
		st   chainState
		have bool // st holds a line
	)
	for i, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return sum, err
		}
		err = func() error {
			defer f.Close()
			r := bufio.NewReaderSize(f, 64<<10)
			n := 0
			var fileNo int64
			for {
				line, rerr := r.ReadBytes('\n')
				if len(line) == 0 && rerr == io.EOF {
					break
				}
				n++
				if rerr != nil && rerr != io.EOF {
					return fmt.Errorf("%s: %w", path, rerr)
				}
				brk := func(kind, format string, args ...any) error {
					return &Break{File: path, Line: n, Kind: kind, Detail: fmt.Sprintf(format, args...)}
				}
				if rerr == io.EOF { // no newline
					return brk(BreakPartialLine, "the last line (%d bytes) has no newline: the file was cut short", len(line))
				}
				c, err := parseLine(line[:len(line)-1])
				if err != nil {
					var pe *lineError
					if errors.As(err, &pe) && pe.edited {
						return brk(BreakEdited, "%v", err)
					}
					return brk(BreakMalformed, "%v", err)
				}
				if n == 1 {
					fileNo = c.file
					if have {
						switch {
						case c.file > st.file+1:
							return brk(BreakMissingFile, "file %d follows file %d: file %d is missing", c.file, st.file, st.file+1)
						case c.file <= st.file:
							return brk(BreakFileOrder, "file %d follows file %d: files are out of order or repeated", c.file, st.file)
						}
					}
				} else if c.file != fileNo {
					return brk(BreakFileMismatch, "line says file %d, the file's first line says %d", c.file, fileNo)
				}
				if !have {
					if c.file == 1 && (c.seq != 1 || c.prev != ([sha256.Size]byte{})) {
						return brk(BreakBadStart, "file 1 starts at seq %d: the lines before it are missing", c.seq)
					}
					sum.FirstFile, sum.FirstSeq = c.file, c.seq
				} else {
					switch {
					case c.seq > st.seq+1:
						return brk(BreakMissingLines, "seq jumps from %d to %d: %d line(s) missing", st.seq, c.seq, c.seq-st.seq-1)
					case c.seq <= st.seq:
						return brk(BreakReordered, "seq %d follows seq %d", c.seq, st.seq)
					case c.prev != st.hash:
						return brk(BreakChain, "prev %x… is not the hash of seq %d (%x…)", c.prev[:4], st.seq, st.hash[:4])
					}
				}
				st, have = chainState{file: c.file, seq: c.seq, hash: c.hash}, true
				sum.Lines++
			}
			if n == 0 && i < len(paths)-1 {
				return &Break{File: path, Kind: BreakEmptyFile, Detail: "only the newest file may be empty"}
			}
			return nil
		}()
		if err != nil {
			return sum, err
		}
		sum.Files++
	}
	if have {
		sum.LastFile, sum.LastSeq, sum.LastHash = st.file, st.seq, hex.EncodeToString(st.hash[:])
	}
	return sum, nil
}

// chainFields are a line's chain members, parsed.
type chainFields struct {
	file, seq  int64
	prev, hash [sha256.Size]byte
}

// lineError says why a line is not a valid audit line; edited marks a
// well-formed line whose hash does not match its content.
type lineError struct {
	msg    string
	edited bool
}

func (e *lineError) Error() string { return e.msg }

// parseLine checks one line (without its newline): its fixed hash suffix,
// the hash of everything before it, and its JSON with the chain members.
func parseLine(line []byte) (chainFields, error) {
	var c chainFields
	if len(line) < hashSuffixLen || !bytes.HasSuffix(line, []byte(`"}}`)) ||
		string(line[len(line)-hashSuffixLen:len(line)-hashSuffixLen+len(hashKey)]) != hashKey {
		return c, &lineError{msg: "the line does not end with the rotorChain hash"}
	}
	prefix := line[:len(line)-hashSuffixLen]
	hexHash := line[len(line)-hashSuffixLen+len(hashKey) : len(line)-3]
	if _, err := hex.Decode(c.hash[:], hexHash); err != nil {
		return c, &lineError{msg: "the hash is not hex"}
	}
	if sha256.Sum256(prefix) != c.hash {
		return c, &lineError{msg: "the line's content does not match its hash", edited: true}
	}
	var v struct {
		RotorChain *struct {
			File *int64 `json:"file"`
			Seq  *int64 `json:"seq"`
			Prev string `json:"prev"`
			Hash string `json:"hash"`
		} `json:"rotorChain"`
	}
	if err := json.Unmarshal(line, &v); err != nil {
		return c, &lineError{msg: "not JSON: " + err.Error()}
	}
	rc := v.RotorChain
	if rc == nil || rc.File == nil || rc.Seq == nil || *rc.File < 1 || *rc.Seq < 1 {
		return c, &lineError{msg: "no valid rotorChain file and seq"}
	}
	if rc.Hash != string(hexHash) {
		return c, &lineError{msg: "rotorChain.hash is not the line's last member"}
	}
	if len(rc.Prev) != 2*sha256.Size {
		return c, &lineError{msg: "rotorChain.prev is not a SHA-256 in hex"}
	}
	if _, err := hex.Decode(c.prev[:], []byte(rc.Prev)); err != nil {
		return c, &lineError{msg: "rotorChain.prev is not hex"}
	}
	c.file, c.seq = *rc.File, *rc.Seq
	return c, nil
}
