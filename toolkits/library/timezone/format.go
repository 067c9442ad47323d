package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// namedFormat formats t in one of the named styles.
func namedFormat(t time.Time, name string) (string, error) {
	switch name {
	case "", "rfc3339":
		return t.Format(time.RFC3339), nil
	case "rfc3339_nano":
		return t.Format(time.RFC3339Nano), nil
	case "rfc1123":
		return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"), nil // HTTP dates are always GMT
	case "rfc2822":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700"), nil
	case "iso_date":
		return t.Format("2006-01-02"), nil
	case "iso_time":
		return t.Format("15:04:05"), nil
	case "iso_week":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d-%d", y, w, isoWeekday(t)), nil
	case "iso_ordinal":
		return fmt.Sprintf("%04d-%03d", t.Year(), t.YearDay()), nil
	case "unix":
		return strconv.FormatInt(t.Unix(), 10), nil
	case "unix_ms":
		return strconv.FormatInt(t.UnixMilli(), 10), nil
	case "kitchen":
		return t.Format(time.Kitchen), nil
	case "human":
		return t.Format("Monday, 2 January 2006, 15:04 MST"), nil
	}
	return "", fmt.Errorf("unknown format %q", name)
}

func isoWeekday(t time.Time) int {
	if wd := int(t.Weekday()); wd != 0 {
		return wd
	}
	return 7
}

const strftimeHelp = "%Y %y %C %G %g %m %B %b %h %d %e %j %H %I %k %l %M %S %f %L %N %p %P %a %A %u %w %V %z %:z %Z %s %F %T %D %R %r %c %n %t %% (a - after % drops padding, as in %-d)"

// strftime formats t with C/POSIX strftime directives (English names).
func strftime(t time.Time, pattern string) (string, error) {
	if len(pattern) > 256 {
		return "", fmt.Errorf("the pattern is longer than 256 bytes")
	}
	var b strings.Builder
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '%' {
			b.WriteRune(rs[i])
			continue
		}
		start := i
		i++
		noPad := false
		if i < len(rs) && rs[i] == '-' {
			noPad = true
			i++
		}
		colon := false
		if i < len(rs) && rs[i] == ':' {
			colon = true
			i++
		}
		if i >= len(rs) {
			return "", fmt.Errorf("the pattern ends with an incomplete directive at character %d; write %%%% for a literal %%", start+1)
		}
		num := func(n, width int, pad byte) {
			s := strconv.Itoa(n)
			if !noPad {
				for len(s) < width {
					s = string(pad) + s
				}
			}
			b.WriteString(s)
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		if colon && rs[i] != 'z' {
			return "", fmt.Errorf("%%: is only valid as %%:z (at character %d)", start+1)
		}
		switch rs[i] {
		case 'Y':
			num(t.Year(), 4, '0')
		case 'y':
			num(t.Year()%100, 2, '0')
		case 'C':
			num(t.Year()/100, 2, '0')
		case 'G':
			y, _ := t.ISOWeek()
			num(y, 4, '0')
		case 'g':
			y, _ := t.ISOWeek()
			num(y%100, 2, '0')
		case 'm':
			num(int(t.Month()), 2, '0')
		case 'B':
			b.WriteString(t.Month().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'd':
			num(t.Day(), 2, '0')
		case 'e':
			num(t.Day(), 2, ' ')
		case 'j':
			num(t.YearDay(), 3, '0')
		case 'H':
			num(t.Hour(), 2, '0')
		case 'k':
			num(t.Hour(), 2, ' ')
		case 'I':
			num(hour12, 2, '0')
		case 'l':
			num(hour12, 2, ' ')
		case 'M':
			num(t.Minute(), 2, '0')
		case 'S':
			num(t.Second(), 2, '0')
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'L':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1_000_000)
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'P':
			b.WriteString(strings.ToLower(t.Format("PM")))
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'u':
			num(isoWeekday(t), 1, '0')
		case 'w':
			num(int(t.Weekday()), 1, '0')
		case 'V':
			_, w := t.ISOWeek()
			num(w, 2, '0')
		case 'z':
			if colon {
				b.WriteString(t.Format("-07:00"))
			} else {
				b.WriteString(t.Format("-0700"))
			}
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'r':
			b.WriteString(t.Format("03:04:05 PM"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unknown directive %%%c at character %d; supported: %s", rs[i], start+1, strftimeHelp)
		}
	}
	return b.String(), nil
}
