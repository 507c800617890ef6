package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/rotorhq/rotor"
)

// The change feed.
//
// Each Update records which secrets (by ARN) its fn wrote and whether it
// wrote auth data (identities, access keys, identity policies), and before
// COMMIT, in the same transaction, runs pg_notify(changeChannel, payload)
// with a changeMessage in JSON. PostgreSQL delivers the notification to
// every session listening on the channel in the same database when, and
// only if, the transaction commits. Watch listens on a connection of its
// own and turns each notification into rotor.Change calls.
//
// A notification payload must be shorter than 8000 bytes: an Update that
// touched too many secrets to name sends All instead.

// changeChannel is the channel of the change feed.
const changeChannel = "rotor_changes"

// maxPayload bounds a notification payload (PostgreSQL refuses 8000 bytes
// or more).
const maxPayload = 7900

// changeMessage is a notification payload.
type changeMessage struct {
	Secrets []string `json:"s,omitempty"`
	Auth    bool     `json:"a,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// changes is what one Update wrote.
type changes struct {
	arns map[string]struct{}
	auth bool
}

func (c *changes) secret(arn string) {
	if c.arns == nil {
		c.arns = map[string]struct{}{}
	}
	c.arns[arn] = struct{}{}
}

func (c *changes) authChanged() { c.auth = true }

// payload returns the notification payload for c, "" when nothing changed.
func (c *changes) payload() string {
	if len(c.arns) == 0 && !c.auth {
		return ""
	}
	m := changeMessage{Auth: c.auth}
	for arn := range c.arns {
		m.Secrets = append(m.Secrets, arn)
	}
	slices.Sort(m.Secrets)
	b, err := json.Marshal(m)
	if err != nil || len(b) > maxPayload {
		b, _ = json.Marshal(changeMessage{All: true})
	}
	return string(b)
}

// Watch intervals.
const (
	// watchPing is how long Watch waits for a notification before it
	// checks, with a query, that its connection still works.
	watchPing = 30 * time.Second
	// watchPingTimeout bounds that query.
	watchPingTimeout = 10 * time.Second
	// watchBackoffMin and watchBackoffMax bound the wait before a
	// reconnection, which doubles after each failed attempt.
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 5 * time.Second
)

// Watch calls fn, one call at a time, for each change any server commits
// to the database (this one included): once per secret an Update wrote
// (SecretARN set), and once with Auth set when it wrote auth data. It
// listens on a connection of its own, outside the pool. Each time it
// starts listening — at first, and after reconnecting when the connection
// was lost (with a backoff from 100 ms doubling to 5 s between attempts) —
// it calls fn with All set, since changes committed while it was not
// listening were missed; it also does so for a notification it cannot
// read, or one whose Update touched too many secrets to name. Watch
// returns ctx's error when ctx ends, and nil when the store is closed.
func (s *Store) Watch(ctx context.Context, fn func(rotor.Change)) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	cfg := s.conn.Copy()
	// Operators (and tests) tell the listener apart in pg_stat_activity.
	cfg.RuntimeParams["application_name"] += "-watch"
	// Waiting for a notification ends at a deadline (watchPing); that must
	// leave the connection usable rather than cancel on the server.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	backoff := watchBackoffMin
	for {
		listened, err := s.listen(wctx, cfg, fn)
		select {
		case <-s.done:
			return nil
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if listened {
			backoff = watchBackoffMin
		}
		s.log.Warn("change feed: connection to PostgreSQL lost or refused; reconnecting, then every cache is dropped",
			"database", s.where, "listened", listened, "retry_in", backoff, "err", maskPassword(fmt.Sprint(err), cfg.Password))
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// listen connects, listens on changeChannel, calls fn with All set, and
// then delivers notifications until the connection fails or ctx ends.
// listened reports whether it got as far as listening.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, fn func(rotor.Change)) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel+"; LISTEN "+s.syncChannel()); err != nil {
		return false, err
	}
	fn(rotor.Change{All: true})
	s.syncListening(true)
	defer s.syncListening(false)
	for {
		wctx, cancel := context.WithTimeout(ctx, watchPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil && n.Channel == s.syncChannel():
			s.syncArrived(n.Payload)
			continue
		case err == nil:
			deliver(n.Payload, fn)
			continue
		case ctx.Err() != nil:
			return true, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return true, err
		}
		// Quiet for watchPing: make sure the connection still works.
		pctx, cancel := context.WithTimeout(ctx, watchPingTimeout)
		_, err = conn.Exec(pctx, "SELECT 1")
		cancel()
		if err != nil {
			return true, err
		}
	}
}

// deliver calls fn for the change a notification payload describes.
func deliver(payload string, fn func(rotor.Change)) {
	var m changeMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.All || (len(m.Secrets) == 0 && !m.Auth) {
		fn(rotor.Change{All: true})
		return
	}
	for _, arn := range m.Secrets {
		fn(rotor.Change{SecretARN: arn})
	}
	if m.Auth {
		fn(rotor.Change{Auth: true})
	}
}
