package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

var ctx = context.Background()

var fixedNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	clock = func() time.Time { return fixedNow }
	m.Run()
}

func intp(i int) *int { return &i }

func TestLoadZone(t *testing.T) {
	ok := map[string]string{
		"Europe/Paris": "Europe/Paris", "europe/paris": "Europe/Paris", " Asia/Tokyo ": "Asia/Tokyo",
		"UTC": "UTC", "z": "UTC", "GMT": "UTC", "Etc/UTC": "UTC",
		"+05:30": "UTC+05:30", "UTC-3": "UTC-03:00", "+0545": "UTC+05:45", "GMT+1": "UTC+01:00", "-00:00": "UTC",
		"US/Eastern": "US/Eastern", "Europe/Kiev": "Europe/Kiev", "EST": "EST", "CET": "CET",
		"america/argentina/buenos_aires": "America/Argentina/Buenos_Aires",
	}
	for in, want := range ok {
		loc, err := loadZone(in)
		if err != nil || loc.String() != want {
			t.Errorf("%q: got %v, %v; want %s", in, loc, err, want)
		}
	}
	bad := map[string]string{
		"":              "is required",
		"Local":         "sandbox",
		"+19:00":        "out of range",
		"+05:61":        "out of range",
		"Tokyo":         "did you mean Asia/Tokyo?",
		"new york":      "America/New_York",
		"Europe/Pariss": "did you mean Europe/Paris?",
		"PST":           "abbreviations are ambiguous and not accepted; did you mean America/Los_Angeles?",
		"IST":           "Asia/Kolkata or Europe/Dublin or Asia/Jerusalem",
		"../etc/passwd": "unknown time zone",
		"Mars/Olympus":  "list_zones",
	}
	for in, want := range bad {
		_, err := loadZone(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		in, want string
		local    bool
		note     string
	}{
		{"2024-05-01T14:30:00Z", "2024-05-01T14:30:00Z", false, ""},
		{"2024-05-01T14:30:00.25+02:00", "2024-05-01T12:30:00.25Z", false, ""},
		{"2024-05-01 14:30:00+02:00", "2024-05-01T12:30:00Z", false, ""},
		{"2024-05-01T14:30:00+0200", "2024-05-01T12:30:00Z", false, ""},
		{"2024-05-01T14:30+02:00", "2024-05-01T12:30:00Z", false, ""},
		{"2024-05-01 14:30", "2024-05-01T12:30:00Z", true, ""},
		{"2024-05-01T14:30:05", "2024-05-01T12:30:05Z", true, ""},
		{"2024-05-01 14:30:05.5", "2024-05-01T12:30:05.5Z", true, ""},
		{"2024-05-01", "2024-04-30T22:00:00Z", true, ""},
		{"1714573800", "2024-05-01T14:30:00Z", false, ""},
		{"1714573800.5", "2024-05-01T14:30:00.5Z", false, ""},
		{"-86400", "1969-12-31T00:00:00Z", false, ""},
		{"1714573800123", "2024-05-01T14:30:00.123Z", false, "milliseconds"},
		{"Wed, 01 May 2024 14:30:00 GMT", "2024-05-01T14:30:00Z", false, ""},
		{"Wed, 01 May 2024 14:30:00 -0700", "2024-05-01T21:30:00Z", false, ""},
		{"now", "2024-05-01T12:00:00Z", false, ""},
		{"", "2024-05-01T12:00:00Z", false, ""},
		{"2024-03-31 02:30", "2024-03-31T01:30:00Z", true, "does not exist"},
		{"2024-10-27 02:30", "2024-10-27T00:30:00Z", true, "happens twice"},
	}
	for _, c := range cases {
		p, err := parseTime(c.in, paris, fixedNow)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := p.t.UTC().Format(time.RFC3339Nano); got != c.want || p.local != c.local || !strings.Contains(p.note, c.note) || (c.note == "" && p.note != "") {
			t.Errorf("%q: got %s local=%v note=%q; want %s local=%v note~%q", c.in, got, p.local, p.note, c.want, c.local, c.note)
		}
	}
	bad := map[string]string{
		"tomorrow":                      "use RFC 3339",
		"2024-13-01":                    "month out of range",
		"2024-02-30":                    "day out of range",
		"2024-05-01T25:00:00Z":          "hour out of range",
		"Wed, 01 May 2024 14:30:00 PST": "only GMT/UTC",
		"99999999999999999":             "out of range",
		"300000000000":                  "out of range",
		strings.Repeat("1", 10) + "x" + strings.Repeat("y", 60): "longer than 64",
	}
	for in, want := range bad {
		_, err := parseTime(in, time.UTC, fixedNow)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestResolveLocal(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	w := time.Date(2024, 11, 3, 1, 30, 0, 0, time.UTC)
	got, note := resolveLocal(w, ny)
	if got.UTC().Format(time.RFC3339) != "2024-11-03T05:30:00Z" || !strings.Contains(note, "01:30 EDT -04:00 (the second is 01:30 EST -05:00)") {
		t.Fatalf("got %v, %q", got, note)
	}
	w = time.Date(2024, 3, 10, 2, 15, 0, 0, time.UTC)
	got, note = resolveLocal(w, ny)
	if got.Format("15:04 MST") != "03:15 EDT" || !strings.Contains(note, "moved forward") {
		t.Fatalf("got %v, %q", got, note)
	}
	got, note = resolveLocal(time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC), ny)
	if got.UTC().Hour() != 13 || note != "" {
		t.Fatalf("got %v, %q", got, note)
	}
}

func TestConvertTime(t *testing.T) {
	out, err := convertTime(ctx, convertIn{Time: "2024-05-01T12:00:00Z", To: []string{"America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "+05:30", "Australia/Sydney"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ time, abbr, off string }{
		{"2024-05-01T08:00:00-04:00", "EDT", "-04:00"},
		{"2024-05-01T17:30:00+05:30", "IST", "+05:30"},
		{"2024-05-01T17:45:00+05:45", "+0545", "+05:45"},
		{"2024-05-01T17:30:00+05:30", "UTC+05:30", "+05:30"},
		{"2024-05-01T22:00:00+10:00", "AEST", "+10:00"},
	}
	for i, w := range want {
		r := out.Results[i]
		if r.Time != w.time || r.Abbreviation != w.abbr || r.Offset != w.off {
			t.Errorf("%s: got %+v", r.Zone, r)
		}
	}
	if !out.Results[0].DST || out.Results[4].DST || out.Results[0].Weekday != "Wednesday" || out.Results[0].Local != "2024-05-01 08:00:00" {
		t.Errorf("got %+v", out.Results)
	}
	if out.Instant != "2024-05-01T12:00:00Z" || out.Unix != 1714564800 || out.From.Zone != "UTC" {
		t.Errorf("got %+v", out)
	}
	// A local time in from; the source keeps its zone.
	out, err = convertTime(ctx, convertIn{Time: "2024-12-24 18:00", From: "Europe/Berlin", To: []string{"America/Los_Angeles"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Results[0].Local != "2024-12-24 09:00:00" || out.Results[0].Abbreviation != "PST" || out.From.Abbreviation != "CET" {
		t.Errorf("got %+v", out)
	}
	// A time with an offset is reported in that offset.
	out, _ = convertTime(ctx, convertIn{Time: "2024-05-01T14:30:00+02:00", To: []string{"UTC"}})
	if out.From.Zone != "UTC+02:00" || out.From.Local != "2024-05-01 14:30:00" || out.Results[0].Local != "2024-05-01 12:30:00" {
		t.Errorf("got %+v", out)
	}
	// now.
	out, _ = convertTime(ctx, convertIn{To: []string{"Asia/Tokyo"}})
	if out.Results[0].Local != "2024-05-01 21:00:00" {
		t.Errorf("got %+v", out)
	}
	for _, c := range []struct {
		in   convertIn
		want string
	}{
		{convertIn{}, "1 to 20"},
		{convertIn{To: make([]string, 21)}, "1 to 20"},
		{convertIn{To: []string{"UTC", "Nowhere/Land"}}, "to[1]: unknown time zone"},
		{convertIn{From: "Paris", To: []string{"UTC"}}, "from: unknown time zone \"Paris\"; did you mean Europe/Paris?"},
		{convertIn{Time: "yesterday", To: []string{"UTC"}}, "cannot read the time"},
	} {
		if _, err := convertTime(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in, err, c.want)
		}
	}
}

func TestZoneInfo(t *testing.T) {
	out, err := zoneInfo(ctx, zoneInfoIn{Zone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	if out.At.Abbreviation != "BST" || out.At.Offset != "+01:00" || !out.At.DST || len(out.Transitions) != 2 {
		t.Fatalf("got %+v", out)
	}
	tr := out.Transitions[0]
	if tr.At != "2024-10-27T01:00:00Z" || tr.LocalBefore != "2024-10-27 02:00:00" || tr.LocalAfter != "2024-10-27 01:00:00" ||
		tr.Before.Abbreviation != "BST" || tr.After.Abbreviation != "GMT" || tr.After.DST || tr.After.Offset != "+00:00" {
		t.Fatalf("got %+v", tr)
	}
	if tr := out.Transitions[1]; tr.At != "2025-03-30T01:00:00Z" || tr.LocalBefore != "2025-03-30 01:00:00" || tr.LocalAfter != "2025-03-30 02:00:00" {
		t.Fatalf("got %+v", tr)
	}
	out, _ = zoneInfo(ctx, zoneInfoIn{Zone: "Australia/Sydney", Transitions: intp(1)})
	if out.At.Abbreviation != "AEST" || out.At.DST || out.Transitions[0].At != "2024-10-05T16:00:00Z" || out.Transitions[0].After.Abbreviation != "AEDT" {
		t.Fatalf("got %+v", out)
	}
	out, _ = zoneInfo(ctx, zoneInfoIn{Zone: "Asia/Tokyo", Transitions: intp(5)})
	if len(out.Transitions) != 0 || out.Transitions == nil {
		t.Fatalf("got %+v", out)
	}
	out, _ = zoneInfo(ctx, zoneInfoIn{Zone: "+03:00"})
	if out.At.Offset != "+03:00" || len(out.Transitions) != 0 {
		t.Fatalf("got %+v", out)
	}
	// A historical date, with its odd local mean time offset.
	out, _ = zoneInfo(ctx, zoneInfoIn{Zone: "Europe/Amsterdam", At: "1900-06-01", Transitions: intp(0)})
	if out.At.Offset != "+00:19:32" {
		t.Fatalf("got %+v", out.At)
	}
	for _, in := range []zoneInfoIn{{Zone: "Nowhere"}, {Zone: "UTC", Transitions: intp(21)}, {Zone: "UTC", At: "soon"}} {
		if _, err := zoneInfo(ctx, in); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
}

func TestListZones(t *testing.T) {
	out, err := listZones(ctx, listIn{Region: "Europe"})
	if out.Count > maxZonesWithOffsets {
		t.Fatalf("Europe has %d zones", out.Count)
	}
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, z := range out.Zones {
		if !strings.HasPrefix(z.Name, "Europe/") {
			t.Fatalf("%s in Europe", z.Name)
		}
		if z.Name == "Europe/Kyiv" {
			found = z.Offset == "+03:00" && z.Abbreviation == "EEST"
		}
	}
	if !found || out.Count < 50 || out.Count != len(out.Zones) {
		t.Fatalf("count %d, Kyiv %v", out.Count, found)
	}
	out, _ = listZones(ctx, listIn{Filter: "buenos aires"})
	if out.Count != 1 || out.Zones[0].Name != "America/Argentina/Buenos_Aires" || out.Zones[0].Offset != "-03:00" {
		t.Fatalf("got %+v", out)
	}
	out, _ = listZones(ctx, listIn{Filter: "YORK"})
	if out.Count != 1 || out.Zones[0].Name != "America/New_York" {
		t.Fatalf("got %+v", out)
	}
	out, _ = listZones(ctx, listIn{Filter: "zzz"})
	if out.Count != 0 || out.Zones == nil {
		t.Fatalf("got %+v", out)
	}
	all, _ := listZones(ctx, listIn{})
	if all.Count < 400 || all.Zones[0].Offset != "" || !strings.Contains(all.Note, "filter by region") {
		t.Fatalf("got %d zones, note %q", all.Count, all.Note)
	}
	am, _ := listZones(ctx, listIn{Region: "America"})
	if am.Count <= maxZonesWithOffsets || am.Zones[0].Offset != "" {
		t.Fatalf("America: %d", am.Count)
	}
	if _, err := listZones(ctx, listIn{Filter: strings.Repeat("x", 65)}); err == nil {
		t.Fatal("long filter accepted")
	}
}

func TestAddDuration(t *testing.T) {
	cases := []struct {
		in         addIn
		want, note string
	}{
		{addIn{Time: "2024-01-31", Duration: "P1M"}, "2024-02-29T00:00:00Z", "last day of the month"},
		{addIn{Time: "2023-01-31", Duration: "P1M"}, "2023-02-28T00:00:00Z", "day 31 does not exist in February 2023"},
		{addIn{Time: "2024-02-29", Duration: "P1Y"}, "2025-02-28T00:00:00Z", "last day"},
		{addIn{Time: "2024-03-30 12:00", Zone: "Europe/Paris", Duration: "P1D"}, "2024-03-31T12:00:00+02:00", ""},
		{addIn{Time: "2024-03-30 12:00", Zone: "Europe/Paris", Duration: "PT24H"}, "2024-03-31T13:00:00+02:00", ""},
		{addIn{Time: "2024-03-30 02:30", Zone: "Europe/Paris", Duration: "P1D"}, "2024-03-31T03:30:00+02:00", "does not exist"},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "1h30m"}, "2024-05-01T11:30:00Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "-45m"}, "2024-05-01T09:15:00Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "-P1D"}, "2024-04-30T10:00:00Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "P2W"}, "2024-05-15T10:00:00Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "PT1.5H"}, "2024-05-01T11:30:00Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "PT0,5S"}, "2024-05-01T10:00:00.5Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "p1y2m3dt4h5m6s"}, "2025-07-04T14:05:06Z", ""},
		{addIn{Time: "2024-05-01T10:00:00Z", Duration: "-P13M"}, "2023-04-01T10:00:00Z", ""},
		{addIn{Duration: "P1D"}, "2024-05-02T12:00:00Z", ""},
	}
	for _, c := range cases {
		out, err := addDuration(ctx, c.in)
		if err != nil {
			t.Errorf("%+v: %v", c.in, err)
			continue
		}
		if out.Result.Time != c.want || !strings.Contains(out.Note, c.note) || c.note == "" && out.Note != "" {
			t.Errorf("%+v: got %s note %q; want %s note~%q", c.in, out.Result.Time, out.Note, c.want, c.note)
		}
	}
	for _, c := range []struct {
		in   addIn
		want string
	}{
		{addIn{Duration: ""}, "empty"},
		{addIn{Duration: "P"}, "cannot read the duration"},
		{addIn{Duration: "PT"}, "cannot read the duration"},
		{addIn{Duration: "P1.5D"}, "fractions are only supported"},
		{addIn{Duration: "three days"}, "ISO 8601"},
		{addIn{Duration: "P9000Y"}, "outside 1 to 9999"},
		{addIn{Duration: "P1D", Zone: "Atlantis"}, "zone: unknown time zone"},
		{addIn{Duration: "P1D", Time: "bad"}, "cannot read the time"},
	} {
		if _, err := addDuration(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in, err, c.want)
		}
	}
}

func TestTimeDifference(t *testing.T) {
	out, err := timeDifference(ctx, diffIn{Start: "2024-01-01", End: "2024-03-15 12:30"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Calendar != (calendarParts{Months: 2, Days: 14, Hours: 12, Minutes: 30}) || out.Human != "2 months 14 days 12 hours 30 minutes" {
		t.Fatalf("got %+v", out)
	}
	if out.Days != 74.520833 || out.Seconds != 6438600 || out.Negative || out.BusinessDays != 54 {
		t.Fatalf("got %+v", out)
	}
	// Reversed: negative totals, same calendar parts.
	rev, _ := timeDifference(ctx, diffIn{Start: "2024-03-15 12:30", End: "2024-01-01"})
	if !rev.Negative || rev.Seconds != -6438600 || rev.Calendar != out.Calendar || rev.Human != "minus "+out.Human || rev.BusinessDays != -54 {
		t.Fatalf("got %+v", rev)
	}
	// A DST day in Paris is one calendar day of 23 hours.
	dst, _ := timeDifference(ctx, diffIn{Start: "2024-03-30 12:00", End: "2024-03-31 12:00", Zone: "Europe/Paris"})
	if dst.Calendar != (calendarParts{Days: 1}) || dst.Hours != 23 {
		t.Fatalf("got %+v", dst)
	}
	// Month ends: Jan 31 to Feb 29 is one month.
	me, _ := timeDifference(ctx, diffIn{Start: "2024-01-31", End: "2024-02-29"})
	if me.Calendar != (calendarParts{Months: 1}) {
		t.Fatalf("got %+v", me.Calendar)
	}
	long, _ := timeDifference(ctx, diffIn{Start: "1000-01-01", End: "2024-01-01"})
	if long.Calendar.Years != 1024 || long.Days < 374000 {
		t.Fatalf("got %+v", long)
	}
	same, _ := timeDifference(ctx, diffIn{Start: "2024-01-01T00:00:00Z", End: "2024-01-01T01:00:00+01:00"})
	if same.Seconds != 0 || same.Human != "0 seconds" {
		t.Fatalf("got %+v", same)
	}
	// Friday to Monday: one business day.
	if bd, _ := timeDifference(ctx, diffIn{Start: "2024-05-03", End: "2024-05-06"}); bd.BusinessDays != 1 {
		t.Fatalf("got %d", bd.BusinessDays)
	}
	for _, in := range []diffIn{{Start: "x", End: "now"}, {Start: "now", End: "x"}, {Start: "now", End: "now", Zone: "Nope"}} {
		if _, err := timeDifference(ctx, in); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
}

func TestFormatTime(t *testing.T) {
	at := "2024-05-01T14:30:05.123456789Z"
	cases := []struct {
		in   formatIn
		want string
	}{
		{formatIn{Time: at}, "2024-05-01T14:30:05Z"},
		{formatIn{Time: at, Zone: "Europe/Paris"}, "2024-05-01T16:30:05+02:00"},
		{formatIn{Time: at, Format: "rfc3339_nano"}, "2024-05-01T14:30:05.123456789Z"},
		{formatIn{Time: at, Zone: "Europe/Paris", Format: "rfc1123"}, "Wed, 01 May 2024 14:30:05 GMT"},
		{formatIn{Time: at, Zone: "America/New_York", Format: "rfc2822"}, "Wed, 01 May 2024 10:30:05 -0400"},
		{formatIn{Time: at, Format: "iso_date"}, "2024-05-01"},
		{formatIn{Time: at, Format: "iso_time"}, "14:30:05"},
		{formatIn{Time: at, Format: "iso_week"}, "2024-W18-3"},
		{formatIn{Time: "2024-12-30", Format: "iso_week"}, "2025-W01-1"},
		{formatIn{Time: "2024-05-05", Format: "iso_week"}, "2024-W18-7"},
		{formatIn{Time: at, Format: "iso_ordinal"}, "2024-122"},
		{formatIn{Time: at, Format: "unix"}, "1714573805"},
		{formatIn{Time: at, Format: "unix_ms"}, "1714573805123"},
		{formatIn{Time: at, Format: "kitchen"}, "2:30PM"},
		{formatIn{Time: at, Zone: "Europe/Paris", Format: "human"}, "Wednesday, 1 May 2024, 16:30 CEST"},
		{formatIn{Time: at, Pattern: "%Y-%m-%d %H:%M:%S %Z (%z, %:z)"}, "2024-05-01 14:30:05 UTC (+0000, +00:00)"},
		{formatIn{Time: at, Zone: "Asia/Kolkata", Pattern: "%A %-d %B %Y, %I:%M %p"}, "Wednesday 1 May 2024, 08:00 PM"},
		{formatIn{Time: at, Pattern: "%a %b %e %k|%l|%P %j %u %w %V %G %g %y %C"}, "Wed May  1 14| 2|pm 122 3 3 18 2024 24 24 20"},
		{formatIn{Time: at, Pattern: "%F %T.%f %L %N %s"}, "2024-05-01 14:30:05.123456 123 123456789 1714573805"},
		{formatIn{Time: at, Pattern: "%D %R %r %c"}, "05/01/24 14:30 02:30:05 PM Wed May  1 14:30:05 2024"},
		{formatIn{Time: at, Pattern: "100%% %h%n%t"}, "100% May\n\t"},
		{formatIn{Time: at, Pattern: "no directives, ünïcode"}, "no directives, ünïcode"},
	}
	for _, c := range cases {
		out, err := formatTime(ctx, c.in)
		if err != nil || out.Text != c.want {
			t.Errorf("%+v: got %q, %v; want %q", c.in, out.Text, err, c.want)
		}
	}
	for _, c := range []struct {
		in   formatIn
		want string
	}{
		{formatIn{Pattern: "%Y-%Q"}, "unknown directive %Q at character 4"},
		{formatIn{Pattern: "50%"}, "incomplete directive at character 3"},
		{formatIn{Pattern: "%:H"}, "only valid as %:z"},
		{formatIn{Pattern: "%Y", Format: "unix"}, "not both"},
		{formatIn{Format: "julian"}, "unknown format"},
		{formatIn{Pattern: strings.Repeat("%Y", 200)}, "longer than 256"},
		{formatIn{Zone: "Nope"}, "zone:"},
	} {
		if _, err := formatTime(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in, err, c.want)
		}
	}
}

func TestSpanAndHelpers(t *testing.T) {
	sp, err := parseSpan("P1Y2M3W4DT5H6M7.5S")
	if err != nil || sp.years != 1 || sp.months != 2 || sp.days != 25 || sp.clock != 5*time.Hour+6*time.Minute+7500*time.Millisecond {
		t.Fatalf("got %+v %v", sp, err)
	}
	if _, err := parseSpan("P99999999D"); err == nil {
		t.Fatal("huge days accepted")
	}
	if _, err := parseSpan("PT999999999H"); err == nil {
		t.Fatal("huge hours accepted")
	}
	if formatOffset(-(3*3600+30*60)) != "-03:30" || formatOffset(0) != "+00:00" || formatOffset(1172) != "+00:19:32" {
		t.Fatal("formatOffset")
	}
	if floorDiv(-1, 12) != -1 || floorMod(-1, 12) != 11 || floorDiv(13, 12) != 1 {
		t.Fatal("floor")
	}
	if editDistance("kitten", "sitting") != 3 || editDistance("", "abc") != 3 {
		t.Fatal("editDistance")
	}
	if len(zoneList()) < 400 || zoneList()[0] != "Africa/Abidjan" {
		t.Fatal("zone list")
	}
	for _, z := range zoneList() {
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("listed zone %s does not load: %v", z, err)
		}
	}
}
