// Command timezone is a curated Kiln library module: time zone conversion,
// zone offsets and transitions, calendar arithmetic and formatting, with the
// IANA tz database compiled in (the sandbox has no zoneinfo files).
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // the tz database, embedded: about 450 KB

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// clock is the current time; tests replace it.
var clock = time.Now

type zonedTime struct {
	Zone          string `json:"zone" description:"The zone, as resolved (IANA name, UTC or a fixed offset)"`
	Time          string `json:"time" description:"RFC 3339 time with the zone's offset"`
	Local         string `json:"local" description:"Wall-clock date and time in the zone, 2006-01-02 15:04:05"`
	Weekday       string `json:"weekday" description:"Day of the week in the zone"`
	Abbreviation  string `json:"abbreviation" description:"Zone abbreviation in effect, such as CEST; some zones only have numeric ones such as +03"`
	Offset        string `json:"offset" description:"UTC offset, such as +02:00"`
	OffsetSeconds int    `json:"offsetSeconds" description:"UTC offset in seconds"`
	DST           bool   `json:"dst" description:"Whether daylight saving time is in effect"`
}

func describe(t time.Time, loc *time.Location) zonedTime {
	t = t.In(loc)
	abbr, off := t.Zone()
	return zonedTime{
		Zone: loc.String(), Time: t.Format(time.RFC3339Nano), Local: t.Format("2006-01-02 15:04:05"),
		Weekday: t.Weekday().String(), Abbreviation: abbr, Offset: formatOffset(off), OffsetSeconds: off, DST: t.IsDST(),
	}
}

// zoneOrUTC loads zone, defaulting to UTC when it is empty.
func zoneOrUTC(zone string) (*time.Location, error) {
	if strings.TrimSpace(zone) == "" {
		return time.UTC, nil
	}
	return loadZone(zone)
}

func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

// ---- convert_time ----

type convertIn struct {
	Time string   `json:"time,omitempty" description:"The time: RFC 3339 (2024-05-01T14:30:00Z), a local date-time read in from (2024-05-01 14:30), a date, a Unix timestamp, or now (default)"`
	From string   `json:"from,omitempty" description:"Zone of a time given without an offset, such as Europe/Paris (default UTC). Ignored for times with an offset."`
	To   []string `json:"to" description:"Zones to convert to (1 to 20), such as [\"America/New_York\", \"Asia/Tokyo\", \"+05:30\"]"`
}

type convertOut struct {
	Instant string      `json:"instant" description:"The instant in UTC, RFC 3339"`
	Unix    int64       `json:"unix" description:"Seconds since 1970-01-01 UTC"`
	From    zonedTime   `json:"from" description:"The time in the source zone"`
	Results []zonedTime `json:"results" description:"The time in each target zone, in the order given"`
	Note    string      `json:"note,omitempty" description:"How an unusual input was read (a wall time skipped or repeated by a DST change, milliseconds)"`
}

func convertTime(_ context.Context, in convertIn) (convertOut, error) {
	if len(in.To) == 0 || len(in.To) > 20 {
		return convertOut{}, errors.New("to must list 1 to 20 zones")
	}
	from, err := zoneOrUTC(in.From)
	if err != nil {
		return convertOut{}, fmt.Errorf("from: %w", err)
	}
	p, err := parseTime(in.Time, from, clock())
	if err != nil {
		return convertOut{}, err
	}
	out := convertOut{Instant: p.t.UTC().Format(time.RFC3339Nano), Unix: p.t.Unix(), Note: p.note}
	fromLoc := from
	if !p.local && strings.TrimSpace(in.From) == "" {
		fromLoc = p.t.Location() // keep the offset the time was given with
	}
	out.From = describe(p.t, fromLoc)
	for i, z := range in.To {
		loc, err := loadZone(z)
		if err != nil {
			return convertOut{}, fmt.Errorf("to[%d]: %w", i, err)
		}
		out.Results = append(out.Results, describe(p.t, loc))
	}
	return out, nil
}

// ---- zone_info ----

type zoneInfoIn struct {
	Zone        string `json:"zone" description:"IANA zone name such as Europe/London, or UTC, or an offset such as -03:00"`
	At          string `json:"at,omitempty" description:"When to look (default now); same forms as convert_time's time, read in this zone"`
	Transitions *int   `json:"transitions,omitempty" description:"How many upcoming offset changes (DST starts and ends) to list (default 2, at most 20)"`
}

type offsetState struct {
	Abbreviation string `json:"abbreviation" description:"Zone abbreviation"`
	Offset       string `json:"offset" description:"UTC offset, such as +01:00"`
	DST          bool   `json:"dst" description:"Whether daylight saving time is in effect"`
}

type transition struct {
	At          string      `json:"at" description:"Instant of the change, RFC 3339 in UTC"`
	LocalBefore string      `json:"localBefore" description:"Wall-clock time that the clocks reach just before the change"`
	LocalAfter  string      `json:"localAfter" description:"Wall-clock time the clocks show just after the change"`
	Before      offsetState `json:"before" description:"Offset before the change"`
	After       offsetState `json:"after" description:"Offset after the change"`
}

type zoneInfoOut struct {
	At          zonedTime    `json:"at" description:"The zone at the time asked about"`
	Transitions []transition `json:"transitions" description:"Upcoming offset changes; empty for zones without any"`
}

func stateAt(t time.Time) offsetState {
	abbr, off := t.Zone()
	return offsetState{Abbreviation: abbr, Offset: formatOffset(off), DST: t.IsDST()}
}

func zoneInfo(_ context.Context, in zoneInfoIn) (zoneInfoOut, error) {
	loc, err := loadZone(in.Zone)
	if err != nil {
		return zoneInfoOut{}, err
	}
	n := 2
	if in.Transitions != nil {
		n = *in.Transitions
		if n < 0 || n > 20 {
			return zoneInfoOut{}, errors.New("transitions must be between 0 and 20")
		}
	}
	p, err := parseTime(in.At, loc, clock())
	if err != nil {
		return zoneInfoOut{}, err
	}
	out := zoneInfoOut{At: describe(p.t, loc), Transitions: []transition{}}
	t := p.t.In(loc)
	for len(out.Transitions) < n {
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		before := end.Add(-time.Nanosecond).In(loc)
		after := end.In(loc)
		out.Transitions = append(out.Transitions, transition{
			At:          end.UTC().Format(time.RFC3339),
			LocalBefore: end.In(time.FixedZone("", offsetOf(before))).Format("2006-01-02 15:04:05"),
			LocalAfter:  after.Format("2006-01-02 15:04:05"), Before: stateAt(before), After: stateAt(after),
		})
		t = after
	}
	return out, nil
}

// ---- list_zones ----

type listIn struct {
	Filter string `json:"filter,omitempty" description:"Only zones whose name contains this text (case-insensitive; spaces match _), such as york or buenos aires"`
	Region string `json:"region,omitempty" enum:"Africa,America,Antarctica,Arctic,Asia,Atlantic,Australia,Europe,Indian,Pacific" description:"Only zones in this region"`
}

type zoneEntry struct {
	Name         string `json:"name" description:"IANA zone name"`
	Offset       string `json:"offset,omitempty" description:"Current UTC offset (when at most 100 zones are listed)"`
	Abbreviation string `json:"abbreviation,omitempty" description:"Current abbreviation (when at most 100 zones are listed)"`
}

type listOut struct {
	Count int         `json:"count" description:"Number of zones listed"`
	Zones []zoneEntry `json:"zones" description:"Zones by name, with their current offsets when at most 100 match"`
	Note  string      `json:"note,omitempty" description:"Set when offsets were left out"`
}

// maxZonesWithOffsets bounds the zones whose offsets list_zones looks up:
// loading a zone from the embedded database costs about 0.2 M fuel.
const maxZonesWithOffsets = 100

func listZones(_ context.Context, in listIn) (listOut, error) {
	q := normalizeZoneQuery(in.Filter)
	if len(q) > 64 {
		return listOut{}, errors.New("filter is longer than 64 characters")
	}
	now := clock()
	out := listOut{Zones: []zoneEntry{}}
	for _, z := range zoneList() {
		if in.Region != "" && !strings.HasPrefix(z, in.Region+"/") {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(z), q) {
			continue
		}
		out.Zones = append(out.Zones, zoneEntry{Name: z})
	}
	out.Count = len(out.Zones)
	if out.Count > maxZonesWithOffsets {
		out.Note = fmt.Sprintf("%d zones match; offsets are listed for at most %d: filter by region or text to see them", out.Count, maxZonesWithOffsets)
		return out, nil
	}
	for i := range out.Zones {
		loc, err := time.LoadLocation(out.Zones[i].Name)
		if err != nil {
			continue
		}
		abbr, off := now.In(loc).Zone()
		out.Zones[i].Offset, out.Zones[i].Abbreviation = formatOffset(off), abbr
	}
	return out, nil
}

// ---- add_duration ----

type addIn struct {
	Time     string `json:"time,omitempty" description:"Start time (default now); same forms as convert_time"`
	Zone     string `json:"zone,omitempty" description:"Zone for a local start time, for calendar arithmetic and for the result (default UTC)"`
	Duration string `json:"duration" description:"ISO 8601 duration (P1Y2M10DT2H30M, P2W, -P1D, PT90M) or Go duration (1h30m, -45m, 90s). Years, months, weeks and days move the calendar keeping the wall-clock time; hours, minutes and seconds are exact elapsed time."`
}

type addOut struct {
	Start  zonedTime `json:"start" description:"The start time"`
	Result zonedTime `json:"result" description:"The start time plus the duration"`
	Note   string    `json:"note,omitempty" description:"Clamped month ends, DST gaps and similar adjustments"`
}

func addDuration(_ context.Context, in addIn) (addOut, error) {
	loc, err := zoneOrUTC(in.Zone)
	if err != nil {
		return addOut{}, fmt.Errorf("zone: %w", err)
	}
	p, err := parseTime(in.Time, loc, clock())
	if err != nil {
		return addOut{}, err
	}
	sp, err := parseSpan(in.Duration)
	if err != nil {
		return addOut{}, err
	}
	res, note := addSpan(p.t, sp, loc)
	if y := res.Year(); y < 1 || y > 9999 {
		return addOut{}, fmt.Errorf("the result falls in year %d, outside 1 to 9999", y)
	}
	return addOut{Start: describe(p.t, loc), Result: describe(res, loc), Note: joinNotes(p.note, note)}, nil
}

// ---- time_difference ----

type diffIn struct {
	Start string `json:"start" description:"The earlier time; same forms as convert_time"`
	End   string `json:"end" description:"The later time; same forms as convert_time"`
	Zone  string `json:"zone,omitempty" description:"Zone for local times and for counting calendar days and months (default UTC)"`
}

type calendarParts struct {
	Years   int `json:"years" description:"Whole years"`
	Months  int `json:"months" description:"Whole months after the years"`
	Days    int `json:"days" description:"Whole calendar days after the months"`
	Hours   int `json:"hours" description:"Hours after the days"`
	Minutes int `json:"minutes" description:"Minutes after the hours"`
	Seconds int `json:"seconds" description:"Seconds after the minutes"`
}

type diffOut struct {
	Seconds      float64       `json:"seconds" description:"Elapsed seconds from start to end (negative when end is earlier)"`
	Minutes      float64       `json:"minutes" description:"Elapsed minutes"`
	Hours        float64       `json:"hours" description:"Elapsed hours"`
	Days         float64       `json:"days" description:"Elapsed time in 24-hour days"`
	Human        string        `json:"human" description:"Elapsed time in words, such as 2 days 3 hours"`
	Calendar     calendarParts `json:"calendar" description:"The difference in calendar units counted in the zone (a DST day has 23 or 25 hours)"`
	Negative     bool          `json:"negative" description:"True when end is before start; the calendar parts are then those of end to start"`
	BusinessDays int           `json:"businessDays" description:"Monday-to-Friday days from start's date (exclusive) to end's date (inclusive), in the zone; holidays are not known"`
	Note         string        `json:"note,omitempty" description:"How an unusual input was read"`
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func timeDifference(_ context.Context, in diffIn) (diffOut, error) {
	loc, err := zoneOrUTC(in.Zone)
	if err != nil {
		return diffOut{}, fmt.Errorf("zone: %w", err)
	}
	now := clock()
	a, err := parseTime(in.Start, loc, now)
	if err != nil {
		return diffOut{}, fmt.Errorf("start: %w", err)
	}
	b, err := parseTime(in.End, loc, now)
	if err != nil {
		return diffOut{}, fmt.Errorf("end: %w", err)
	}
	from, to := a.t, b.t
	neg := to.Before(from)
	if neg {
		from, to = to, from
	}
	// time.Duration spans ±292 years; count longer spans in seconds.
	secs := float64(to.Unix()-from.Unix()) + float64(to.Nanosecond()-from.Nanosecond())/1e9
	y, mo, d, rest := calendarDiff(from, to, loc)
	out := diffOut{
		Seconds: round6(secs), Minutes: round6(secs / 60), Hours: round6(secs / 3600), Days: round6(secs / 86400),
		Calendar: calendarParts{Years: y, Months: mo, Days: d, Hours: int(rest / time.Hour), Minutes: int(rest / time.Minute % 60), Seconds: int(rest / time.Second % 60)},
		Negative: neg, BusinessDays: businessDays(from.In(loc), to.In(loc)),
		Note: joinNotes(a.note, b.note),
	}
	out.Human = humanCalendar(out.Calendar)
	if neg {
		out.Seconds, out.Minutes, out.Hours, out.Days = -out.Seconds, -out.Minutes, -out.Hours, -out.Days
		out.BusinessDays = -out.BusinessDays
		out.Human = "minus " + out.Human
	}
	return out, nil
}

func humanCalendar(c calendarParts) string {
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{c.Years, "year"}, {c.Months, "month"}, {c.Days, "day"}, {c.Hours, "hour"}, {c.Minutes, "minute"}, {c.Seconds, "second"}} {
		if p.n == 0 {
			continue
		}
		s := fmt.Sprintf("%d %s", p.n, p.unit)
		if p.n != 1 {
			s += "s"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	return strings.Join(parts, " ")
}

// businessDays counts Monday-Friday dates after a's date up to b's date.
func businessDays(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	days := int(db.Sub(da).Hours()/24 + 0.5)
	if db.Year()-da.Year() > 250 { // beyond Duration's range
		days = int((db.Unix() - da.Unix()) / 86400)
	}
	weeks, rem := days/7, days%7
	n := weeks * 5
	wd := da.Weekday()
	for i := 0; i < rem; i++ {
		wd = (wd + 1) % 7
		if wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n
}

// ---- format_time ----

type formatIn struct {
	Time    string `json:"time,omitempty" description:"The time (default now); same forms as convert_time"`
	Zone    string `json:"zone,omitempty" description:"Zone to show the time in, and to read a local time in (default UTC)"`
	Format  string `json:"format,omitempty" enum:"rfc3339,rfc3339_nano,rfc1123,rfc2822,iso_date,iso_time,iso_week,iso_ordinal,unix,unix_ms,kitchen,human" description:"A named format (default rfc3339): rfc1123 is the HTTP date (always GMT), iso_week 2024-W18-3, human 'Wednesday, 1 May 2024, 14:30 CEST'"`
	Pattern string `json:"pattern,omitempty" description:"strftime pattern instead of a named format, such as %Y-%m-%d %H:%M %Z or %A %-d %B (English names)"`
}

type formatOut struct {
	Text string `json:"text" description:"The formatted time"`
	Zone string `json:"zone" description:"The zone used"`
}

func formatTime(_ context.Context, in formatIn) (formatOut, error) {
	loc, err := zoneOrUTC(in.Zone)
	if err != nil {
		return formatOut{}, fmt.Errorf("zone: %w", err)
	}
	p, err := parseTime(in.Time, loc, clock())
	if err != nil {
		return formatOut{}, err
	}
	t := p.t.In(loc)
	var text string
	if in.Pattern != "" {
		if in.Format != "" {
			return formatOut{}, errors.New("give format or pattern, not both")
		}
		text, err = strftime(t, in.Pattern)
	} else {
		text, err = namedFormat(t, in.Format)
	}
	if err != nil {
		return formatOut{}, err
	}
	return formatOut{Text: text, Zone: loc.String()}, nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("convert_time", "Converts a time (or now) to other time zones, with offsets, abbreviations and DST status", convertTime),
		kiln.NewTool("zone_info", "Shows a time zone's current (or given) offset and abbreviation and its upcoming DST changes", zoneInfo),
		kiln.NewTool("list_zones", "Lists IANA time zone names with their current offsets, optionally filtered by text or region", listZones),
		kiln.NewTool("add_duration", "Adds an ISO 8601 or Go duration to a time, DST- and month-end-aware", addDuration),
		kiln.NewTool("time_difference", "Computes the time between two times: total seconds/hours/days, calendar years/months/days, business days", timeDifference),
		kiln.NewTool("format_time", "Formats a time in a zone with a named format (RFC 3339, HTTP date, ISO week...) or a strftime pattern", formatTime),
	}})
}
