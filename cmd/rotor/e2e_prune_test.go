package main

// Unlabeled (deprecated) versions: at most 100 are kept; older ones are
// pruned once past versions.prune_min_age, and when none is old enough the
// version that would exceed the quota is refused (aws-api.md §2.3 rule 9).

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor"
)

// e2eCountVersions lists every version (deprecated included) and returns
// how many are labelled and how many are not.
func e2eCountVersions(t *testing.T, c *secretsmanager.Client, name string) (labelled, deprecated int, ids map[string]bool) {
	t.Helper()
	ids = map[string]bool{}
	for _, v := range e2eVersions(t, c, name, true) {
		ids[aws.ToString(v.VersionId)] = true
		if len(v.VersionStages) == 0 {
			deprecated++
		} else {
			labelled++
		}
	}
	return labelled, deprecated, ids
}

func TestE2EVersionPruning(t *testing.T) {
	const keep = rotor.DeprecatedVersionsKept // 100, AWS's number

	// With prune_min_age 0 every unlabeled version is old enough; 1ns is the
	// same in practice and shows the pruning itself apart from how 0 is read.
	for _, minAge := range []time.Duration{0, time.Nanosecond} {
		t.Run(fmt.Sprintf("PrunedWithMinAge%v", minAge), func(t *testing.T) { e2ePruneWithMinAge(t, minAge, keep) })
	}

	t.Run("QuotaWithDefaultMinAge", func(t *testing.T) {
		s := MustRunMain(t, "", nil) // prune_min_age 24h: nothing is old enough
		c := s.e2eClient("")
		name := "prune/quota"
		e2eCreate(t, c, name, "v0")
		// Put i leaves i-1 versions unlabeled: the first keep+1 puts reach
		// exactly keep unlabeled versions.
		for i := 1; i <= keep+1; i++ {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String(fmt.Sprintf("v%d", i)), ClientRequestToken: aws.String(e2eToken()), VersionStages: []string{"MOVING"}})
			if err != nil {
				t.Fatalf("put %d (leaving %d unlabeled): %v", i, i-1, err)
			}
		}
		before := e2eTakeSnapshot(t, c, name)
		if _, deprecated, _ := e2eCountVersions(t, c, name); deprecated != keep {
			t.Fatalf("%d deprecated versions after %d puts, want %d", deprecated, keep+1, keep)
		}
		// The next put would leave keep+1 unlabeled versions, none prunable.
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
			SecretString: aws.String("one too many"), ClientRequestToken: aws.String(e2eToken()), VersionStages: []string{"MOVING"}})
		e2eWantErr[*types.LimitExceededException](t, "PutSecretValue beyond the version quota", err, "")
		if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
			t.Errorf("refused put changed the secret (%d versions before, %d after)", len(before.Versions), len(after.Versions))
		}
		// Labelling a deprecated version makes room again.
		var deprecatedID string
		for id, st := range before.Versions {
			if st == nil {
				deprecatedID = id
				break
			}
		}
		_, err = c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
			VersionStage: aws.String("KEEP"), MoveToVersionId: aws.String(deprecatedID)})
		e2eNoErr(t, "label a deprecated version", err)
		_, err = c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
			SecretString: aws.String("fits again"), ClientRequestToken: aws.String(e2eToken()), VersionStages: []string{"MOVING"}})
		e2eNoErr(t, "PutSecretValue after labelling a deprecated version", err)
	})
}

// e2ePruneWithMinAge puts more than keep versions that each leave the
// previous one unlabeled, on a server with prune_min_age minAge, and checks
// that at most keep deprecated versions remain, the oldest going first.
func e2ePruneWithMinAge(t *testing.T, minAge time.Duration, keep int) {
	s := MustRunMain(t, "", func(c *Config) { c.Versions.PruneMinAge.Duration = minAge })
	c := s.e2eClient("")
	name := "prune/app"
	first := aws.ToString(e2eCreate(t, c, name, "v0").VersionId)
	var puts []string
	// Each put takes MOVING, leaving the previous holder unlabeled.
	for i := 1; i <= keep+12; i++ {
		out, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
			SecretString: aws.String(fmt.Sprintf("v%d", i)), ClientRequestToken: aws.String(e2eToken()), VersionStages: []string{"MOVING"}})
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		puts = append(puts, aws.ToString(out.VersionId))
		unlabeled := i - 1
		if i%10 != 0 && i < keep-1 {
			continue // list around the threshold and every tenth put
		}
		labelled, deprecated, ids := e2eCountVersions(t, c, name)
		if labelled != 2 {
			t.Errorf("after put %d: %d labelled versions, want 2 (AWSCURRENT and MOVING)", i, labelled)
		}
		if want := min(unlabeled, keep); deprecated != want {
			t.Errorf("after put %d: %d deprecated versions, want %d (%d unlabeled, at most %d kept)", i, deprecated, want, unlabeled, keep)
		}
		if !ids[first] || !ids[puts[len(puts)-1]] {
			t.Errorf("after put %d: a labelled version was pruned", i)
		}
		// The oldest unlabeled versions go first.
		if unlabeled > keep {
			for _, gone := range puts[:unlabeled-keep] {
				if ids[gone] {
					t.Errorf("after put %d: old deprecated version %s kept while newer ones were pruned", i, gone)
					break
				}
			}
		}
	}
	got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	e2eNoErr(t, "GetSecretValue", err)
	if aws.ToString(got.VersionId) != first {
		t.Errorf("AWSCURRENT = %s, want the first version %s (custom labels never move it)", aws.ToString(got.VersionId), first)
	}
}
