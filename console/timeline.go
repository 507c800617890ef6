package console

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/rotorhq/rotor"
)

// Timeline geometry (SVG user units).
const (
	tlWidth     = 960
	tlLeft      = 120 // room for the label names
	tlRight     = 12
	tlRowHeight = 34
	tlBarHeight = 22
	tlTop       = 8
	tlAxis      = 30 // room for the time axis below the rows
)

// tlPalette colours versions, in order of creation; each has at least
// 4.5:1 contrast with white text.
var tlPalette = []string{"#1f5fa8", "#8a3b12", "#2e6b30", "#6b2c91", "#9c1f4a", "#00626f", "#5c5c00", "#444c56"}

// timeline is the picture of which version held which label when.
type timeline struct {
	Width, Height int
	Rows          []tlRow
	Ticks         []tlTick
	Desc          string // the picture's text alternative
	Empty         bool
}

type tlRow struct {
	Label  string // the whole label (the row's tooltip)
	Text   string // what fits left of the bars: the label, or its start and "…"
	Y, TY  int    // bar top; text baseline
	LabelX int
	Bars   []tlBar
}

type tlBar struct {
	X, Y, W, H int
	TX, TY     int
	Fill       string
	Text       string // short version id, when the bar is wide enough
	Title      string // full description (tooltip)
}

type tlTick struct {
	X, Y   int
	Text   string
	Anchor string
}

// segment is one interval during which a label was on one version.
type segment struct {
	Label, Version string
	From, To       time.Time
	Open           bool // still on the version now
}

// labelSegments turns the label history into intervals, per label, oldest
// first. A label the history does not mention (it was set before the
// history was recorded, or before its oldest event kept) is drawn on the
// version that holds it now, from that version's creation.
func labelSegments(events []rotor.StageEvent, current map[string][]string, created map[string]time.Time, now time.Time) []segment {
	var out []segment
	open := map[string]*segment{}
	seen := map[string]bool{}
	for _, ev := range events {
		seen[ev.Stage] = true
		if s := open[ev.Stage]; s != nil {
			s.To = ev.Time
			out = append(out, *s)
			delete(open, ev.Stage)
		}
		if ev.VersionID != "" {
			open[ev.Stage] = &segment{Label: ev.Stage, Version: ev.VersionID, From: ev.Time}
		}
	}
	for id, stages := range current {
		for _, st := range stages {
			if !seen[st] {
				open[st] = &segment{Label: st, Version: id, From: created[id]}
			}
		}
	}
	for _, s := range open {
		s.To, s.Open = now, true
		out = append(out, *s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// buildTimeline lays out segments: one row per label (AWSCURRENT,
// AWSPENDING, AWSPREVIOUS first, then others by name), time running left
// to right from the first event to now; versions coloured by age.
func buildTimeline(segs []segment, versionOrder []string, now time.Time) timeline {
	if len(segs) == 0 {
		return timeline{Empty: true, Width: tlWidth, Height: tlTop + tlAxis}
	}
	labels := []string{rotor.StageCurrent, rotor.StagePending, rotor.StagePrevious}
	for _, s := range segs {
		if !slices.Contains(labels, s.Label) {
			labels = append(labels, s.Label)
		}
	}
	sort.Strings(labels[3:])
	start := segs[0].From
	for _, s := range segs {
		if s.From.Before(start) {
			start = s.From
		}
	}
	span := now.Sub(start)
	if span <= 0 {
		span = time.Second
	}
	inner := tlWidth - tlLeft - tlRight
	x := func(t time.Time) int {
		return tlLeft + int(float64(inner)*float64(t.Sub(start))/float64(span))
	}
	colour := func(id string) string {
		i := slices.Index(versionOrder, id)
		if i < 0 {
			return "#444c56"
		}
		return tlPalette[i%len(tlPalette)]
	}
	tl := timeline{Width: tlWidth, Height: tlTop + len(labels)*tlRowHeight + tlAxis}
	for i, l := range labels {
		y := tlTop + i*tlRowHeight
		row := tlRow{Label: l, Text: clip(l, tlLabelRunes), Y: y, TY: y + tlBarHeight/2 + 5, LabelX: tlLeft - 8}
		for _, s := range segs {
			if s.Label != l {
				continue
			}
			x0, x1 := x(s.From), x(s.To)
			if x1-x0 < 3 {
				x1 = x0 + 3 // a label held for an instant stays visible
			}
			b := tlBar{X: x0, Y: y, W: x1 - x0, H: tlBarHeight, TX: x0 + 4, TY: y + tlBarHeight/2 + 5, Fill: colour(s.Version)}
			if b.W > 70 {
				b.Text = shortID(s.Version)
			}
			until := "now"
			if !s.Open {
				until = fmtTime(s.To)
			}
			b.Title = fmt.Sprintf("%s on version %s from %s until %s", l, s.Version, fmtTime(s.From), until)
			row.Bars = append(row.Bars, b)
		}
		tl.Rows = append(tl.Rows, row)
	}
	axisY := tlTop + len(labels)*tlRowHeight + 16
	tl.Ticks = []tlTick{
		{X: tlLeft, Y: axisY, Text: fmtTime(start), Anchor: "start"},
		{X: tlWidth - tlRight, Y: axisY, Text: "now", Anchor: "end"},
	}
	if span > 4*time.Minute {
		tl.Ticks = append(tl.Ticks, tlTick{X: tlLeft + inner/2, Y: axisY, Text: fmtTime(start.Add(span / 2)), Anchor: "middle"})
	}
	tl.Desc = fmt.Sprintf("Timeline of staging labels from %s until now: %d label moves over %d labels.", fmtTime(start), len(segs), len(labels))
	return tl
}

// tlLabelRunes is how many characters of a label fit left of the bars
// (AWSPREVIOUS, the longest of AWS's, has 11).
const tlLabelRunes = 13

// shortID is the first 8 characters of a version id.
func shortID(id string) string {
	if r := []rune(id); len(r) > 8 {
		return string(r[:8]) + "…"
	}
	return id
}

// clip is s when it has at most n characters, else its first n-1 and "…".
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// fmtTime formats a time for the pages ("—" for none).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
