package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rotorhq/rotor/audit"
)

// auditVerify runs `rotor audit verify FILE...`: it checks the hash chain
// through the files (oldest first) and reports the first break. It reads
// the files only; no server is needed.
func auditVerify(args []string, stdout io.Writer) error {
	files, err := expandUnmatched(args)
	if err != nil {
		return err
	}
	sum, err := audit.Verify(files)
	var brk *audit.Break
	if errors.As(err, &brk) {
		return fmt.Errorf("audit chain broken at %w", err)
	}
	if err != nil {
		return err
	}
	if sum.Lines == 0 {
		fmt.Fprintf(stdout, "OK: %d file(s), no records\n", sum.Files)
		return nil
	}
	fmt.Fprintf(stdout, "OK: %d record(s) in %d file(s), files %d-%d, seq %d-%d\nlast hash %s\n",
		sum.Lines, sum.Files, sum.FirstFile, sum.LastFile, sum.FirstSeq, sum.LastSeq, sum.LastHash)
	if sum.FirstSeq > 1 {
		fmt.Fprintf(stdout, "note: the chain starts at seq %d; the files before file %d were not given (or were deleted by audit.max_files)\n",
			sum.FirstSeq, sum.FirstFile)
	}
	return nil
}

// expandUnmatched expands a pattern the shell left as it was because
// nothing matched it (`audit.log.*` before the first rotation): no match
// means no file. Existing names are kept as given.
func expandUnmatched(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		if _, err := os.Stat(a); err == nil || !strings.ContainsAny(a, "*?[") {
			files = append(files, a)
			continue
		}
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", a, err)
		}
		files = append(files, matches...)
	}
	return files, nil
}
