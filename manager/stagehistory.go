package manager

import (
	"context"

	"github.com/rotorhq/rotor"
)

// maxStageHistory is the most label-history events StageHistory returns.
const maxStageHistory = 1000

// StageHistory returns the newest limit (0 means maxStageHistory, at most
// that) moves of the secret's staging labels, oldest first: each time a
// label was attached to a version or removed, as the service recorded it
// in the transaction that moved it. It is Rotor's own read (the web
// console draws the timeline from it), authorized as
// "secretsmanager:ListSecretVersionIds" on the secret, since it tells no
// more than that operation's answers would have over time. It works on
// secrets scheduled for deletion.
//
// Errors: EVALIDATION for a bad secret id or limit; ENOTFOUND; EDENIED;
// EINTERNAL.
func (s *Service) StageHistory(ctx context.Context, secretID string, limit int) ([]rotor.StageEvent, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	if limit, err = pageSize("limit", limit, maxStageHistory, maxStageHistory); err != nil {
		return nil, err
	}
	rec, err := s.locate(ctx, c.Region, secretID)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, s.notFound(ctx, c, actionListSecretVersionIds, secretID)
	} else if err != nil {
		return nil, err
	}
	if err := s.authorizeSecret(ctx, c, actionListSecretVersionIds, rec, secretID); err != nil {
		return nil, err
	}
	var out []rotor.StageEvent
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		out, err = tx.StageHistory(rec.ARN, limit)
		return err
	})
	if isCode(err, rotor.ENOTFOUND) { // deleted since it was located
		return nil, s.notFound(ctx, c, actionListSecretVersionIds, secretID)
	} else if err != nil {
		return nil, internal("stage history", err)
	}
	if out == nil {
		out = []rotor.StageEvent{}
	}
	return out, nil
}
