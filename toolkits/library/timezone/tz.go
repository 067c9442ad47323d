package main

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- zones ----

var fixedOffset = regexp.MustCompile(`^(?i:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$`)

// abbreviations maps common zone abbreviations to the zones that use them,
// for error messages only: abbreviations are ambiguous (IST is India,
// Ireland and Israel), so they are never accepted silently.
var abbreviations = map[string][]string{
	"PST": {"America/Los_Angeles"}, "PDT": {"America/Los_Angeles"},
	"MDT": {"America/Denver"}, "CDT": {"America/Chicago"}, "EDT": {"America/New_York"},
	"AKST": {"America/Anchorage"}, "AKDT": {"America/Anchorage"},
	"CST": {"America/Chicago", "Asia/Shanghai"},
	"BST": {"Europe/London"}, "IST": {"Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"},
	"CEST": {"Europe/Paris", "Europe/Berlin"}, "EEST": {"Europe/Athens"},
	"JST": {"Asia/Tokyo"}, "KST": {"Asia/Seoul"}, "HKT": {"Asia/Hong_Kong"}, "SGT": {"Asia/Singapore"},
	"AEST": {"Australia/Sydney"}, "AEDT": {"Australia/Sydney"}, "ACST": {"Australia/Adelaide"},
	"AWST": {"Australia/Perth"}, "NZST": {"Pacific/Auckland"}, "NZDT": {"Pacific/Auckland"},
	"BRT": {"America/Sao_Paulo"}, "ART": {"America/Argentina/Buenos_Aires"}, "MSK": {"Europe/Moscow"},
	"WIB": {"Asia/Jakarta"}, "PHT": {"Asia/Manila"}, "SAST": {"Africa/Johannesburg"},
	"CAT": {"Africa/Maputo"}, "EAT": {"Africa/Nairobi"}, "WAT": {"Africa/Lagos"},
}

// loadZone resolves a zone argument: an IANA name (case-insensitive for
// canonical names), UTC/GMT/Z, or a fixed offset such as +05:30 or UTC-3.
func loadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	switch strings.ToUpper(name) {
	case "":
		return nil, errors.New("a time zone is required, such as Europe/Paris, America/New_York or UTC")
	case "UTC", "Z", "GMT", "ETC/UTC", "UNIVERSAL", "ZULU":
		return time.UTC, nil
	case "LOCAL":
		return nil, errors.New(`"Local" has no meaning here (the tool runs in a sandbox without a local zone); give an IANA name such as Europe/Paris`)
	}
	if m := fixedOffset.FindStringSubmatch(name); m != nil {
		h, _ := strconv.Atoi(m[2])
		mins := 0
		if m[3] != "" {
			mins, _ = strconv.Atoi(m[3])
		}
		if h > 18 || mins > 59 || h == 18 && mins > 0 {
			return nil, fmt.Errorf("offset %q is out of range (at most ±18:00)", name)
		}
		secs := h*3600 + mins*60
		if m[1] == "-" {
			secs = -secs
		}
		return offsetZone(secs), nil
	}
	if len(name) <= 64 && !strings.Contains(name, "..") {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
		for _, z := range zoneList() {
			if strings.EqualFold(z, name) {
				return time.LoadLocation(z)
			}
		}
	}
	return nil, unknownZone(name)
}

func unknownZone(name string) error {
	msg := fmt.Sprintf("unknown time zone %q", name)
	var hints []string
	if zs, ok := abbreviations[strings.ToUpper(name)]; ok {
		msg += "; abbreviations are ambiguous and not accepted"
		hints = zs
	} else {
		hints = suggestZones(name, 5)
	}
	if len(hints) > 0 {
		msg += "; did you mean " + strings.Join(hints, " or ") + "?"
	} else {
		msg += "; use an IANA name such as Europe/Paris or America/New_York, or an offset such as +05:30 (list_zones lists the names)"
	}
	return errors.New(msg)
}

var zones []string

func zoneList() []string {
	if zones == nil {
		zones = strings.Fields(zoneNames)
	}
	return zones
}

func normalizeZoneQuery(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", "_"))
}

// suggestZones finds zones whose city matches the query, or whose name is
// within a small edit distance of it.
func suggestZones(query string, limit int) []string {
	q := normalizeZoneQuery(query)
	if q == "" || len(q) > 64 {
		return nil
	}
	var out []string
	for _, z := range zoneList() {
		lz := strings.ToLower(z)
		city := lz[strings.LastIndex(lz, "/")+1:]
		if city == q || strings.HasSuffix(lz, "/"+q) || len(q) >= 4 && strings.Contains(city, q) {
			out = append(out, z)
		}
	}
	if len(out) == 0 {
		type scored struct {
			z string
			d int
		}
		var best []scored
		for _, z := range zoneList() {
			lz := strings.ToLower(z)
			d := editDistance(q, lz)
			if c := editDistance(q, lz[strings.LastIndex(lz, "/")+1:]); c < d {
				d = c
			}
			if d <= max(1, len(q)/4) {
				best = append(best, scored{z, d})
			}
		}
		sort.SliceStable(best, func(i, j int) bool { return best[i].d < best[j].d })
		for _, b := range best {
			out = append(out, b.z)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// offsetZone is UTC or a fixed zone named after its offset (UTC+02:00).
func offsetZone(secs int) *time.Location {
	if secs == 0 {
		return time.UTC
	}
	return time.FixedZone("UTC"+formatOffset(secs), secs)
}

func offsetOf(t time.Time) int {
	_, off := t.Zone()
	return off
}

// formatOffset writes an offset in seconds as +hh:mm (or +hh:mm:ss for the
// historical offsets that have seconds).
func formatOffset(secs int) string {
	sign := '+'
	if secs < 0 {
		sign, secs = '-', -secs
	}
	s := fmt.Sprintf("%c%02d:%02d", sign, secs/3600, secs/60%60)
	if secs%60 != 0 {
		s += fmt.Sprintf(":%02d", secs%60)
	}
	return s
}

// ---- times ----

const timeFormats = `RFC 3339 (2024-05-01T14:30:00Z or 2024-05-01T14:30:00+02:00), a local date-time (2024-05-01 14:30 or 2024-05-01T14:30:05, read in the zone given), a date (2024-05-01), an HTTP date (Wed, 01 May 2024 14:30:00 GMT), a Unix timestamp in seconds (1714573800), or "now"`

var (
	unixTime = regexp.MustCompile(`^-?\d{1,19}(\.\d{1,9})?$`)
	// localLayouts are tried in order for times without an offset.
	localLayouts = []string{
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
	}
	offsetLayouts = []string{
		time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04Z07:00", time.RFC1123Z, time.RFC1123,
	}
)

// parsedTime is an instant read from the arguments.
type parsedTime struct {
	t time.Time
	// local is set when the text had no offset and was read in the zone.
	local bool
	note  string
}

// parseTime reads s; times without an offset are wall-clock times in loc.
func parseTime(s string, loc *time.Location, now time.Time) (parsedTime, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || strings.EqualFold(s, "now"):
		return parsedTime{t: now.In(loc)}, nil
	case len(s) > 64:
		return parsedTime{}, errors.New("the time is longer than 64 characters; use " + timeFormats)
	case unixTime.MatchString(s):
		return parseUnix(s)
	}
	var firstErr error
	for _, layout := range offsetLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			if layout == time.RFC1123 && !gmtLike(t) {
				return parsedTime{}, fmt.Errorf("cannot read %q: only GMT/UTC are accepted as zone abbreviations; give a numeric offset (-0700) instead", s)
			}
			return parsedTime{t: t.In(offsetZone(offsetOf(t)))}, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, layout := range localLayouts {
		w, err := time.ParseInLocation(layout, s, time.UTC)
		if err == nil {
			t, note := resolveLocal(w, loc)
			return parsedTime{t: t, local: true, note: note}, nil
		}
		if pe := (*time.ParseError)(nil); errors.As(err, &pe) && strings.Contains(pe.Message, "out of range") {
			return parsedTime{}, fmt.Errorf("cannot read %q: %s", s, strings.TrimPrefix(pe.Message, ": "))
		}
	}
	if pe := (*time.ParseError)(nil); errors.As(firstErr, &pe) && strings.Contains(pe.Message, "out of range") {
		return parsedTime{}, fmt.Errorf("cannot read %q: %s", s, strings.TrimPrefix(pe.Message, ": "))
	}
	return parsedTime{}, fmt.Errorf("cannot read the time %q; use %s", s, timeFormats)
}

func gmtLike(t time.Time) bool {
	name, off := t.Zone()
	return off == 0 && (name == "GMT" || name == "UTC" || name == "UT" || name == "Z" || name == "")
}

// parseUnix reads seconds since 1970 (with an optional fraction). Integers
// of 13 digits or more are read as milliseconds, with a note.
func parseUnix(s string) (parsedTime, error) {
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimPrefix(intPart, "-")
	if len(digits) >= 13 && frac == "" {
		ms, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || ms > 253402300799999 || ms < -62135596800000 {
			return parsedTime{}, fmt.Errorf("timestamp %s is out of range (read as milliseconds: years 1 to 9999)", s)
		}
		return parsedTime{t: time.UnixMilli(ms).UTC(), note: "read " + s + " as milliseconds since 1970 (13 or more digits)"}, nil
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec > 253402300799 || sec < -62135596800 { // years 1..9999
		return parsedTime{}, fmt.Errorf("timestamp %s is out of range (years 1 to 9999)", s)
	}
	var nsec int64
	if frac != "" {
		nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if strings.HasPrefix(intPart, "-") {
			nsec = -nsec
		}
	}
	return parsedTime{t: time.Unix(sec, nsec).UTC()}, nil
}

// resolveLocal finds the instant at which the clocks of loc show the wall
// time w (whose fields are read, whatever its location). A wall time that
// occurs twice (clocks set back) resolves to the earlier instant; one that
// does not occur (clocks set forward) is moved forward by the gap, as most
// calendar software does. Both cases come with a note.
func resolveLocal(w time.Time, loc *time.Location) (time.Time, string) {
	wu := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	var cands []time.Time
	for _, probe := range []time.Time{wu.Add(-48 * time.Hour), wu, wu.Add(48 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		t := wu.Add(-time.Duration(off) * time.Second)
		if sameWall(t.In(loc), wu) && !containsTime(cands, t) {
			cands = append(cands, t)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Before(cands[j]) })
	wall := wu.Format("2006-01-02 15:04:05")
	switch len(cands) {
	case 0:
		_, before := wu.Add(-48 * time.Hour).In(loc).Zone()
		t := wu.Add(-time.Duration(before) * time.Second).In(loc)
		return t, fmt.Sprintf("%s does not exist in %s (the clocks moved forward); read as %s", wall, loc, t.Format("15:04:05 MST"))
	case 1:
		return cands[0].In(loc), ""
	}
	t := cands[0].In(loc)
	return t, fmt.Sprintf("%s happens twice in %s (the clocks moved back); used the first, %s (the second is %s)",
		wall, loc, t.Format("15:04 MST -07:00"), cands[len(cands)-1].In(loc).Format("15:04 MST -07:00"))
}

func sameWall(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second() && a.Nanosecond() == b.Nanosecond()
}

func containsTime(ts []time.Time, t time.Time) bool {
	for _, u := range ts {
		if u.Equal(t) {
			return true
		}
	}
	return false
}

// ---- durations ----

// span is a duration with calendar parts: years, months and days move the
// calendar (keeping the wall-clock time), the clock part is exact time.
type span struct {
	years, months, days int
	clock               time.Duration
}

var isoDuration = regexp.MustCompile(`^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// parseSpan reads an ISO 8601 duration (P1Y2M10DT2H30M, -P1W, PT90S) or a
// Go duration (1h30m, -90s, 250ms).
func parseSpan(s string) (span, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return span{}, errors.New("the duration is empty")
	}
	if m := isoDuration.FindStringSubmatch(strings.ToUpper(s)); m != nil && s != "P" && !strings.HasSuffix(strings.ToUpper(s), "T") {
		return isoSpan(s, m)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return span{}, fmt.Errorf("cannot read the duration %q: use ISO 8601 (P1Y2M3D, PT4H30M, P2W, -P1D) or Go form (1h30m, 90s, -15m)", s)
	}
	return span{clock: d}, nil
}

func isoSpan(s string, m []string) (span, error) {
	var sp span
	sign := 1
	if m[1] == "-" {
		sign = -1
	}
	whole := func(i int, unit string) (int, error) {
		if m[i] == "" {
			return 0, nil
		}
		if strings.ContainsAny(m[i], ".,") {
			return 0, fmt.Errorf("duration %q: fractions are only supported in hours, minutes and seconds, not in %s", s, unit)
		}
		n, err := strconv.Atoi(m[i])
		if err != nil || n > 1_000_000 {
			return 0, fmt.Errorf("duration %q: %s out of range", s, unit)
		}
		return n, nil
	}
	var err error
	if sp.years, err = whole(2, "years"); err != nil {
		return span{}, err
	}
	if sp.months, err = whole(3, "months"); err != nil {
		return span{}, err
	}
	weeks, err := whole(4, "weeks")
	if err != nil {
		return span{}, err
	}
	if sp.days, err = whole(5, "days"); err != nil {
		return span{}, err
	}
	sp.days += 7 * weeks
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if v := m[6+i]; v != "" {
			f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
			if err != nil || f*float64(unit) > float64(100*365*24*time.Hour) {
				return span{}, fmt.Errorf("duration %q: the time part is out of range", s)
			}
			sp.clock += time.Duration(f * float64(unit))
		}
	}
	sp.years, sp.months, sp.days, sp.clock = sign*sp.years, sign*sp.months, sign*sp.days, time.Duration(sign)*sp.clock
	return sp, nil
}

// addSpan adds the calendar part in loc (clamping the day to the end of
// the month: Jan 31 + 1 month = Feb 28/29) and then the clock part.
func addSpan(t time.Time, sp span, loc *time.Location) (time.Time, string) {
	t = t.In(loc)
	note := ""
	if sp.years != 0 || sp.months != 0 || sp.days != 0 {
		y, m, d := t.Date()
		total := int(m) - 1 + sp.months + 12*sp.years
		y += floorDiv(total, 12)
		m = time.Month(floorMod(total, 12) + 1)
		if last := daysIn(y, m); d > last {
			note = fmt.Sprintf("day %d does not exist in %s %d; used the last day of the month, %d", d, m, y, last)
			d = last
		}
		w := time.Date(y, m, d+sp.days, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		var n string
		t, n = resolveLocal(w, loc)
		if n != "" {
			note = strings.TrimPrefix(note+"; "+n, "; ")
		}
	}
	return t.Add(sp.clock).In(loc), note
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

// calendarDiff splits the time from a to b (a <= b) into whole years,
// months and days in loc and a remaining clock duration.
func calendarDiff(a, b time.Time, loc *time.Location) (years, months, days int, rest time.Duration) {
	a, b = a.In(loc), b.In(loc)
	total := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	for total > 0 {
		if t, _ := addSpan(a, span{months: total}, loc); !t.After(b) {
			break
		}
		total--
	}
	cur := a
	if total > 0 {
		cur, _ = addSpan(a, span{months: total}, loc)
	}
	years, months = total/12, total%12
	for {
		next, _ := addSpan(cur, span{days: 1}, loc)
		if next.After(b) {
			break
		}
		cur = next
		days++
	}
	return years, months, days, b.Sub(cur)
}
