package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// testStageHistory: events come back as added (times exact, in UTC, equal
// times in insertion order), limit keeps the newest, each secret has its
// own history, deleting versions keeps it, and unknown secrets are
// ENOTFOUND.
func testStageHistory(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "history", "v1", "v2")
	other := withVersions(t, s, "history-other", "o1")
	first := []rotor.StageEvent{
		{Stage: rotor.StageCurrent, VersionID: "v1", Time: at(10)},
		{Stage: rotor.StagePending, VersionID: "v2", Time: at(20)},
	}
	// Equal times, and a later batch whose time is earlier than the last
	// event: order is the order of addition, never a sort by time.
	second := []rotor.StageEvent{
		{Stage: rotor.StageCurrent, VersionID: "v2", Time: at(30)},
		{Stage: rotor.StagePrevious, VersionID: "v1", Time: at(30)},
		{Stage: rotor.StagePending, VersionID: "", Time: at(5)},
	}
	update(t, s, func(tx rotor.Tx) error { return tx.AddStageEvents(arn, first) })
	update(t, s, func(tx rotor.Tx) error { return tx.AddStageEvents(arn, second) })
	update(t, s, func(tx rotor.Tx) error {
		return tx.AddStageEvents(other, []rotor.StageEvent{{Stage: rotor.StageCurrent, VersionID: "o1", Time: at(1)}})
	})
	update(t, s, func(tx rotor.Tx) error { return tx.AddStageEvents(arn, nil) }) // nothing to add

	all := append(slices.Clone(first), second...)
	history := func(arn string, limit int) []rotor.StageEvent {
		var got []rotor.StageEvent
		view(t, s, func(tx rotor.Tx) error {
			var err error
			got, err = tx.StageHistory(arn, limit)
			return err
		})
		return got
	}
	check := func(what string, got, want []rotor.StageEvent) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events %v, want %d %v", what, len(got), got, len(want), want)
		}
		for i := range want {
			w := want[i]
			if got[i].Stage != w.Stage || got[i].VersionID != w.VersionID || !got[i].Time.Equal(w.Time) {
				t.Errorf("%s[%d] = %+v, want %+v", what, i, got[i], w)
			}
			if got[i].Time.Location() != time.UTC {
				t.Errorf("%s[%d].Time location = %v, want UTC", what, i, got[i].Time.Location())
			}
		}
	}
	check("StageHistory(all)", history(arn, 0), all)
	check("StageHistory(limit 2)", history(arn, 2), all[3:])
	check("StageHistory(limit 100)", history(arn, 100), all)
	check("StageHistory(other)", history(other, 0), []rotor.StageEvent{{Stage: rotor.StageCurrent, VersionID: "o1", Time: at(1)}})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteVersions(arn, []string{"v1"}) })
	check("StageHistory after DeleteVersions", history(arn, 0), all)

	// A secret without events has an empty history.
	fresh := withVersions(t, s, "history-fresh", "f1")
	if got := history(fresh, 0); len(got) != 0 {
		t.Errorf("StageHistory(no events) = %v, want none", got)
	}

	updateCode(t, s, "AddStageEvents(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.AddStageEvents(arn+"x", first)
	})
	viewCode(t, s, "StageHistory(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.StageHistory(arn+"x", 0)
		return err
	})

	// The history goes with its secret: a new secret under the same ARN
	// starts without one.
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(other) })
	update(t, s, func(tx rotor.Tx) error {
		sec := secret(region1, "history-other", at(50))
		return tx.CreateSecret(sec)
	})
	if got := history(other, 0); len(got) != 0 {
		t.Errorf("StageHistory(re-created secret) = %v, want none: DeleteSecret must remove the history", got)
	}
}
