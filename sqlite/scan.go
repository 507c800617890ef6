package sqlite

import (
	"context"

	"github.com/rotorhq/rotor"
)

var _ rotor.SecretScanner = (*Store)(nil)

// scanQuery reads the limit secrets whose ARN follows the one given, in
// ARN order (the secrets table's primary key), with their tags, versions
// and labels: readQuery's row for each.
var scanQuery = readQuery("s.arn > ? ORDER BY s.arn LIMIT ?")

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
	var out []rotor.ScannedSecret
	for rows.Next() {
		var secret, tags, versions any
		if err := rows.Scan(&secret, &tags, &versions); err != nil {
			return nil, storeError(err, nounSecret, op)
		}
		rec, vs, err := decodeRead(secret, tags, versions)
		if err != nil {
			return nil, storeError(err, nounSecret, op)
		}
		out = append(out, rotor.ScannedSecret{Record: rec, Versions: vs})
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, nounSecret, op)
	}
	return out, nil
}
