package sqlite

import (
	"context"
	"errors"

	"github.com/rotorhq/rotor"
)

var _ rotor.SecretScanner = (*Store)(nil)

// scanQuery reads the limit secrets whose ARN follows the one given, in
// ARN order (the secrets table's primary key), with their tags, versions
// and labels: readQuery's rows, each prefixed with its secret's ARN.
var scanQuery = readQuery("arn > ? ORDER BY arn LIMIT ?", "s.arn, ")

// ScanSecrets returns up to limit secrets whose ARN sorts after after, in
// ARN order, each as ReadSecretARN would return it, from one snapshot
// (one statement). It is for bulk reads (filling a cache), not a request
// path: the query is not prepared.
func (s *Store) ScanSecrets(ctx context.Context, after string, limit int) ([]rotor.ScannedSecret, error) {
	const op = "scan secrets"
	if limit <= 0 {
		return nil, rotor.Errorf(rotor.EINVALID, "scan secrets: limit %d is not positive", limit)
	}
	rows, err := s.readers.QueryContext(ctx, scanQuery, after, limit)
	if err != nil {
		return nil, storeError(err, nounSecret, op)
	}
	defer rows.Close()
	var (
		order []string // ARNs in ARN order: the secret rows come first
		byARN = map[string]*secretRows{}
	)
	vals := make([]any, 1+readWidth)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, storeError(err, nounSecret, op)
		}
		var arn string
		if err := (&valueScanner{vals: vals[:1]}).Scan(&arn); err != nil {
			return nil, storeError(err, nounSecret, op)
		}
		sr := byARN[arn]
		if sr == nil {
			sr = &secretRows{}
			byARN[arn] = sr
			order = append(order, arn)
		}
		if err := sr.add(vals[1:]); err != nil {
			return nil, storeError(err, nounSecret, op)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, nounSecret, op)
	}
	out := make([]rotor.ScannedSecret, 0, len(order))
	for _, arn := range order {
		sr := byARN[arn]
		if sr.rec == nil {
			// Rows of a secret whose own row is missing: the query
			// selects from the secrets it read, so this cannot happen.
			return nil, storeError(errors.New("rows of "+arn+" without its secret"), nounSecret, op)
		}
		rec, vs := sr.assemble()
		out = append(out, rotor.ScannedSecret{Record: rec, Versions: vs})
	}
	return out, nil
}
