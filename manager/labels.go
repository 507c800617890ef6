package manager

import (
	"slices"
	"sort"
	"time"

	"github.com/rotorhq/rotor"
)

// labels maps each staging label of one secret to the id of the version
// that carries it. A label is on at most one version (aws-api.md §2.3 rule 1),
// which this representation makes impossible to break.
type labels map[string]string

// labelsOf builds the label map of a secret from its stored versions.
func labelsOf(vs []*rotor.VersionRecord) labels {
	l := labels{}
	for _, v := range vs {
		for _, st := range v.Stages {
			l[st] = v.ID
		}
	}
	return l
}

func (l labels) clone() labels {
	c := make(labels, len(l))
	for k, v := range l {
		c[k] = v
	}
	return c
}

// stagesOf returns the sorted labels on version id (nil when it has none).
func (l labels) stagesOf(id string) []string {
	var out []string
	for st, v := range l {
		if v == id {
			out = append(out, st)
		}
	}
	sort.Strings(out)
	return out
}

// labelled reports whether version id carries any label.
func (l labels) labelled(id string) bool {
	for _, v := range l {
		if v == id {
			return true
		}
	}
	return false
}

// moveCurrent attaches AWSCURRENT to version to. AWSPREVIOUS follows
// (rule 5): the version that loses AWSCURRENT receives AWSPREVIOUS, removed
// from wherever it was, and the version that receives AWSCURRENT loses
// AWSPREVIOUS. Other labels stay where they are; in particular AWSPENDING is
// not touched (rule 6). Moving AWSCURRENT onto the version that already has
// it changes nothing.
func (l labels) moveCurrent(to string) {
	old, had := l[rotor.StageCurrent]
	if had && old == to {
		return
	}
	l[rotor.StageCurrent] = to
	if l[rotor.StagePrevious] == to {
		delete(l, rotor.StagePrevious)
	}
	if had {
		l[rotor.StagePrevious] = old
	}
}

// attach applies the labels a new or filled version receives from
// PutSecretValue or UpdateSecret (rule 7):
//   - stages nil means ["AWSCURRENT"];
//   - first (the secret had no version before this one) adds AWSCURRENT;
//   - AWSCURRENT moves with moveCurrent, every other label is moved to id;
//   - when newVersion is true and id receives AWSCURRENT, AWSPENDING is
//     removed from every other version: a manual new current version
//     abandons a pending rotation (§6.4).
func (l labels) attach(id string, stages []string, first, newVersion bool) {
	if stages == nil {
		stages = []string{rotor.StageCurrent}
	}
	current := first || slices.Contains(stages, rotor.StageCurrent)
	if current {
		l.moveCurrent(id)
	}
	for _, st := range stages {
		if st != rotor.StageCurrent {
			l[st] = id
		}
	}
	if current && newVersion {
		if p, ok := l[rotor.StagePending]; ok && p != id {
			delete(l, rotor.StagePending)
		}
	}
}

// labelDiff lists what must change in the store to go from before to after:
// labels to remove entirely and labels to (re)attach, each sorted.
func labelDiff(before, after labels) (remove []string, set []string) {
	for st := range before {
		if _, ok := after[st]; !ok {
			remove = append(remove, st)
		}
	}
	for st, id := range after {
		if before[st] != id {
			set = append(set, st)
		}
	}
	sort.Strings(remove)
	sort.Strings(set)
	return remove, set
}

// applyLabels writes the difference between before and after through tx,
// and appends each move, at now, to the secret's label history
// (Tx.AddStageEvents): every label move of the service goes through here
// (or setCurrent), so the history is complete.
func applyLabels(tx rotor.Tx, arn string, before, after labels, now time.Time) error {
	remove, set := labelDiff(before, after)
	if len(remove)+len(set) == 0 {
		return nil
	}
	evs := make([]rotor.StageEvent, 0, len(remove)+len(set))
	for _, st := range remove {
		if err := tx.RemoveStage(arn, st); err != nil {
			return internal("remove stage", err)
		}
		evs = append(evs, rotor.StageEvent{Stage: st, Time: now})
	}
	for _, st := range set {
		if err := tx.SetStage(arn, st, after[st]); err != nil {
			return internal("set stage", err)
		}
		evs = append(evs, rotor.StageEvent{Stage: st, VersionID: after[st], Time: now})
	}
	if err := tx.AddStageEvents(arn, evs); err != nil {
		return internal("stage history", err)
	}
	return nil
}

// checkStageLimit returns ELIMIT when the secret would carry more than
// rotor.MaxStagesPerSecret distinct labels (rule 2).
func checkStageLimit(l labels) error {
	if len(l) > rotor.MaxStagesPerSecret {
		return rotor.Errorf(rotor.ELIMIT, msgStageLimit)
	}
	return nil
}

// pruneCandidates decides which unlabeled versions to delete after a version
// was created (rule 9): when more than keep versions have no label, the
// oldest unlabeled ones at least minAge old are chosen until keep remain.
// Version skip (the one just created) is never chosen. ok is false when
// not enough versions are old enough, i.e. the new version must be refused.
// vs may be in any order; ids are returned oldest first.
func pruneCandidates(vs []*rotor.VersionRecord, l labels, skip string, now time.Time, minAge time.Duration, keep int) (ids []string, ok bool) {
	var unlabeled []*rotor.VersionRecord
	for _, v := range vs {
		if !l.labelled(v.ID) {
			unlabeled = append(unlabeled, v)
		}
	}
	excess := len(unlabeled) - keep
	if excess <= 0 {
		return nil, true
	}
	sort.SliceStable(unlabeled, func(i, j int) bool { return unlabeled[i].CreatedDate.Before(unlabeled[j].CreatedDate) })
	for _, v := range unlabeled {
		if len(ids) == excess {
			break
		}
		if v.ID != skip && now.Sub(v.CreatedDate) >= minAge {
			ids = append(ids, v.ID)
		}
	}
	return ids, len(ids) == excess
}
