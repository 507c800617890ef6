package console

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestTimelineOfOneRotation: the label moves of a rotation become one
// interval per label and version, drawn in AWS's label order first, with
// custom labels after them by name and clipped to fit left of the bars.
func TestTimelineOfOneRotation(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	now := at(100)
	events := []rotor.StageEvent{
		{Stage: rotor.StageCurrent, VersionID: "v1", Time: at(0)},
		{Stage: rotor.StagePending, VersionID: "v2", Time: at(40)},
		{Stage: rotor.StageCurrent, VersionID: "v2", Time: at(60)},
		{Stage: rotor.StagePrevious, VersionID: "v1", Time: at(60)},
		{Stage: rotor.StagePending, VersionID: "", Time: at(60)},
		{Stage: "zz-a-custom-label-longer-than-fits", VersionID: "v1", Time: at(80)},
		{Stage: "blue", VersionID: "v2", Time: at(90)},
	}
	segs := labelSegments(events, nil, nil, now)
	type iv struct {
		label, version string
		from, to       int
		open           bool
	}
	var got []iv
	for _, s := range segs {
		got = append(got, iv{s.Label, s.Version, int(s.From.Sub(t0) / time.Second), int(s.To.Sub(t0) / time.Second), s.Open})
	}
	want := map[iv]bool{
		{rotor.StageCurrent, "v1", 0, 60, false}:                    true,
		{rotor.StagePending, "v2", 40, 60, false}:                   true,
		{rotor.StageCurrent, "v2", 60, 100, true}:                   true,
		{rotor.StagePrevious, "v1", 60, 100, true}:                  true,
		{"zz-a-custom-label-longer-than-fits", "v1", 80, 100, true}: true,
		{"blue", "v2", 90, 100, true}:                               true,
	}
	if len(got) != len(want) {
		t.Fatalf("segments %+v, want %d", got, len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected segment %+v", g)
		}
	}

	tl := buildTimeline(segs, []string{"v1", "v2"}, now)
	var rows, texts []string
	for _, r := range tl.Rows {
		rows, texts = append(rows, r.Label), append(texts, r.Text)
	}
	if want := []string{rotor.StageCurrent, rotor.StagePending, rotor.StagePrevious, "blue", "zz-a-custom-label-longer-than-fits"}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if texts[4] != "zz-a-custom-…" || texts[2] != rotor.StagePrevious {
		t.Errorf("row texts %q: want long labels clipped to %d characters, AWS's whole", texts, tlLabelRunes)
	}
	cur := tl.Rows[0].Bars
	if len(cur) != 2 || cur[0].X != tlLeft || cur[1].X+cur[1].W != tlWidth-tlRight || cur[0].Fill == cur[1].Fill {
		t.Errorf("AWSCURRENT bars %+v: want two, from the left edge to the right, in two colours", cur)
	}
	if !strings.Contains(cur[1].Title, "AWSCURRENT on version v2 from") || !strings.HasSuffix(cur[1].Title, "until now") {
		t.Errorf("bar title %q", cur[1].Title)
	}
}

// TestTimelineWithoutHistory: a secret whose labels were set before the
// history was recorded shows its current labels from their versions'
// creation.
func TestTimelineWithoutHistory(t *testing.T) {
	now := t0.Add(time.Hour)
	segs := labelSegments(nil, map[string][]string{"v1": {rotor.StageCurrent}}, map[string]time.Time{"v1": t0}, now)
	if len(segs) != 1 || segs[0].Version != "v1" || !segs[0].From.Equal(t0) || !segs[0].Open {
		t.Fatalf("segments %+v", segs)
	}
	if tl := buildTimeline(nil, nil, now); !tl.Empty {
		t.Error("no segments: the timeline is not empty")
	}
}

// TestTimelineLabelOlderThanHistory: a label set before the history began
// (or before its oldest kept event) still shows on the version holding it,
// from that version's creation, beside the labels the history tells of.
func TestTimelineLabelOlderThanHistory(t *testing.T) {
	now := t0.Add(time.Hour)
	events := []rotor.StageEvent{
		{Stage: rotor.StageCurrent, VersionID: "v2", Time: t0.Add(30 * time.Minute)},
		{Stage: rotor.StagePrevious, VersionID: "v1", Time: t0.Add(30 * time.Minute)},
	}
	current := map[string][]string{"v1": {rotor.StagePrevious, "blue"}, "v2": {rotor.StageCurrent}}
	segs := labelSegments(events, current, map[string]time.Time{"v1": t0, "v2": t0.Add(30 * time.Minute)}, now)
	var blue, cur int
	for _, s := range segs {
		switch s.Label {
		case "blue":
			blue++
			if s.Version != "v1" || !s.From.Equal(t0) || !s.Open {
				t.Errorf("blue: %+v, want on v1 since its creation", s)
			}
		case rotor.StageCurrent:
			cur++
		}
	}
	if blue != 1 || cur != 1 || len(segs) != 3 {
		t.Errorf("segments %+v: want AWSCURRENT and AWSPREVIOUS from the history, blue from the current labels", segs)
	}
}
