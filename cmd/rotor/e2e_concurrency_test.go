package main

// Concurrent writers and readers on one secret: labels stay unique, no
// version is lost, and only the expected errors occur.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestE2EConcurrentLabelMoves(t *testing.T) {
	const (
		writers    = 16
		iterations = 20
		readers    = 4
		reads      = 40
	)
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "concurrent/app"
	first := e2eCreate(t, c, name, "v0")

	// created holds every version id whose PutSecretValue succeeded, and
	// values the value written under each token (recorded before the call,
	// so a reader may meet a version only once its value is known).
	var (
		mu      sync.Mutex
		created = []string{aws.ToString(first.VersionId)}
		values  = map[string]string{aws.ToString(first.VersionId): "v0"}
		moved   int
		refused int
	)
	snapshot := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(created)
	}
	valueOf := func(id string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := values[id]
		return v, ok
	}
	customLabels := []string{"BLUE", "GREEN", "RED"}

	// moveLabel moves stage to a random version other than its holder,
	// naming the holder it read from DescribeSecret. Another writer may move
	// the label in between: then InvalidParameterException is the only
	// acceptable answer.
	moveLabel := func(rng *rand.Rand, stage string) {
		d, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			t.Errorf("DescribeSecret: %v", err)
			return
		}
		holder := e2eHolder(d.VersionIdsToStages, stage)
		ids := snapshot()
		target := ids[rng.IntN(len(ids))]
		if target == holder {
			return
		}
		in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name), VersionStage: aws.String(stage), MoveToVersionId: aws.String(target)}
		if holder != "" {
			in.RemoveFromVersionId = aws.String(holder)
		}
		_, err = c.UpdateSecretVersionStage(e2eCtx, in)
		var ipe *types.InvalidParameterException
		switch {
		case err == nil:
			mu.Lock()
			moved++
			mu.Unlock()
		case errors.As(err, &ipe):
			mu.Lock()
			refused++
			mu.Unlock()
		default:
			t.Errorf("UpdateSecretVersionStage %s: unexpected error %v", stage, err)
		}
	}

	read := func(rng *rand.Rand) {
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}
		byID := rng.IntN(2) == 0
		if byID {
			ids := snapshot()
			in.VersionId = aws.String(ids[rng.IntN(len(ids))])
		}
		got, err := c.GetSecretValue(e2eCtx, in)
		if err != nil {
			t.Errorf("GetSecretValue (by id %v): unexpected error %v", byID, err)
			return
		}
		want, ok := valueOf(aws.ToString(got.VersionId))
		if !ok || aws.ToString(got.SecretString) != want {
			t.Errorf("GetSecretValue returned version %s = %q, but %q was written under that token", aws.ToString(got.VersionId), aws.ToString(got.SecretString), want)
		}
		if !byID && !slices.Contains(got.VersionStages, "AWSCURRENT") {
			t.Errorf("GetSecretValue of AWSCURRENT returned stages %v", got.VersionStages)
		}
	}

	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for i := 0; i < iterations; i++ {
				switch (g + i) % 4 {
				case 0:
					token, value := e2eToken(), fmt.Sprintf("g%d-i%d", g, i)
					mu.Lock()
					values[token] = value
					mu.Unlock()
					out, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
						SecretString: aws.String(value), ClientRequestToken: aws.String(token)})
					if err != nil {
						t.Errorf("PutSecretValue: unexpected error %v", err)
						continue
					}
					if !slices.Equal(out.VersionStages, []string{"AWSCURRENT"}) {
						t.Errorf("PutSecretValue VersionStages = %v, want [AWSCURRENT]", out.VersionStages)
					}
					mu.Lock()
					created = append(created, token)
					mu.Unlock()
				case 1:
					moveLabel(rng, "AWSCURRENT")
				case 2:
					moveLabel(rng, customLabels[g%len(customLabels)])
				case 3:
					read(rng)
				}
			}
		}(g)
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for i := 0; i < reads; i++ {
				read(rng)
			}
		}(r)
	}
	wg.Wait()
	t.Logf("%d versions, %d label moves done, %d refused as stale", len(created), moved, refused)

	versions := e2eVersions(t, c, name, true)
	var listed []string
	count := map[string]int{}
	holders := map[string]string{}
	for _, v := range versions {
		listed = append(listed, aws.ToString(v.VersionId))
		for _, st := range v.VersionStages {
			count[st]++
			holders[st] = aws.ToString(v.VersionId)
		}
	}
	if ok, diff := e2eSameSet(listed, created); !ok || len(listed) != len(created) {
		t.Errorf("ListSecretVersionIds(IncludeDeprecated) has %d versions, %d were created: %s", len(listed), len(created), diff)
	}
	for st, n := range count {
		if n != 1 {
			t.Errorf("label %s is on %d versions, want exactly one", st, n)
		}
	}
	for _, st := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		if count[st] != 1 {
			t.Errorf("label %s is on %d versions, want exactly one", st, count[st])
		}
	}
	if holders["AWSCURRENT"] != "" && holders["AWSCURRENT"] == holders["AWSPREVIOUS"] {
		t.Errorf("AWSCURRENT and AWSPREVIOUS are both on %s", holders["AWSCURRENT"])
	}
	d := e2eDescribe(t, c, name)
	labelled := map[string][]string{}
	for id, st := range e2eStagesByVersion(versions) {
		if st != nil {
			labelled[id] = st
		}
	}
	if !e2eEqualStageMaps(d.VersionIdsToStages, labelled) {
		t.Errorf("DescribeSecret VersionIdsToStages %v disagrees with ListSecretVersionIds %v", d.VersionIdsToStages, labelled)
	}
	got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	e2eNoErr(t, "GetSecretValue", err)
	if aws.ToString(got.VersionId) != holders["AWSCURRENT"] {
		t.Errorf("GetSecretValue AWSCURRENT = %s, but ListSecretVersionIds puts AWSCURRENT on %s", aws.ToString(got.VersionId), holders["AWSCURRENT"])
	}
}
