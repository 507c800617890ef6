package awsapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rotorhq/rotor/awsapi"
)

func TestTimestampMarshal(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{ms(1523477145713), "1523477145.713"},
		{ms(1523477145710), "1523477145.71"},
		{ms(1523477145001), "1523477145.001"},
		{ms(1523923200000), "1523923200"},
		{time.Unix(1, 999_999), "1"}, // truncated to the millisecond
		{time.Unix(1700000000, 0).In(time.FixedZone("X", 3600)), "1700000000"},
		{ms(-1500), "-1.5"},
		{ms(0), "0"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(awsapi.Timestamp{Time: tt.in})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%v)=%s, want %s", tt.in, b, tt.want)
		}
	}
}

func TestTimestampOmitZero(t *testing.T) {
	b, err := json.Marshal(struct {
		A awsapi.Timestamp `json:"A,omitzero"`
		B awsapi.Timestamp `json:"B,omitzero"`
	}{B: awsapi.Timestamp{Time: ms(1000)}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"B":1}` {
		t.Errorf("Marshal=%s, want {\"B\":1}", b)
	}
}

func TestTimestampUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"1523477145.713", ms(1523477145713), false},
		{"1523923200", ms(1523923200000), false},
		{"1.5e9", time.Unix(1500000000, 0), false},
		{"15E8", time.Unix(1500000000, 0), false},
		{"-1.5", ms(-1500), false},
		{"1.0000000005", time.Unix(1, 1), false}, // half a nanosecond rounds away from zero
		{"1.0000000004", time.Unix(1, 0), false},
		{"null", time.Time{}, false},
		{`"1523477145"`, time.Time{}, true},
		{"1e41", time.Time{}, true},
		{"99999999999999999999", time.Time{}, true},
		{"1.", time.Unix(1, 0), false},
		{".5", time.Time{}, true},
		{"0x10", time.Time{}, true},
	}
	for _, tt := range tests {
		var ts awsapi.Timestamp
		err := ts.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("Unmarshal(%s) err=%v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && !ts.Equal(tt.want) {
			t.Errorf("Unmarshal(%s)=%v, want %v", tt.in, ts.Time, tt.want)
		}
		if !tt.err && !ts.IsZero() && ts.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) location %v, want UTC", tt.in, ts.Location())
		}
	}
}
