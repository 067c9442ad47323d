package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// ---- decimal input ----

var decimalRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$`)

// parseDecimal reads a number given as a JSON number or as a string of
// digits, exactly: 0.1 is 1/10, not the nearest binary fraction.
func parseDecimal(raw json.RawMessage, field string) (*big.Rat, string, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return nil, "", fmt.Errorf("%s is required: a number such as 1234.5 or a string of digits such as \"1234.50\"", field)
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, "", fmt.Errorf("%s: %v", field, err)
		}
		text = strings.TrimSpace(text)
	}
	if len(text) > 64 {
		return nil, "", fmt.Errorf("%s has more than 64 characters", field)
	}
	if !decimalRE.MatchString(text) {
		hint := ""
		if strings.ContainsAny(text, ", _'") {
			hint = " without grouping separators"
		}
		return nil, "", fmt.Errorf("%s %q is not a number; write it%s as digits with an optional . and exponent, such as 1234.56 or -1.5e3", field, text, hint)
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return nil, "", fmt.Errorf("%s %q is not a number", field, text)
	}
	return r, text, nil
}

// ---- rounding ----

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// roundScaled returns r×10^decimals rounded to an integer with the mode:
// half_up (halves away from zero), half_even (halves to even), down
// (toward zero) or up (away from zero).
func roundScaled(r *big.Rat, decimals int, mode string) *big.Int {
	num := new(big.Int).Mul(r.Num(), pow10(decimals))
	den := r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if rem.Sign() == 0 {
		return q
	}
	sign := int64(r.Sign())
	twice := new(big.Int).Abs(rem)
	twice.Lsh(twice, 1)
	cmp := twice.Cmp(den)
	bump := false
	switch mode {
	case "up":
		bump = true
	case "down":
	case "half_even":
		bump = cmp > 0 || cmp == 0 && q.Bit(0) == 1
	default: // half_up
		bump = cmp >= 0
	}
	if bump {
		q.Add(q, big.NewInt(sign))
	}
	return q
}

// scaleOf is the number of decimals r needs (up to max).
func scaleOf(r *big.Rat, max int) int {
	for d := 0; d < max; d++ {
		if new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(d))).IsInt() {
			return d
		}
	}
	return max
}

// splitScaled splits |n|/10^decimals into integer and fraction digits.
func splitScaled(n *big.Int, decimals int) (intPart, frac string, negative bool) {
	s := new(big.Int).Abs(n).String()
	if decimals > 0 {
		for len(s) <= decimals {
			s = "0" + s
		}
		intPart, frac = s[:len(s)-decimals], s[len(s)-decimals:]
	} else {
		intPart = s
	}
	return intPart, frac, n.Sign() < 0
}

// ---- locales ----

type locale struct {
	tag      string
	decimal  string
	group    string
	grouping [2]int // primary and secondary group sizes
	minGroup int    // an integer part needs grouping[0]+minGroup digits to be grouped
	minus    string
	currency string // positive currency pattern: ¤ symbol, # number
	percent  string
	local    string // the locale's own currency
	symbol   string // its symbol here
}

const nbsp, nnbsp = "\u00a0", "\u202f"

var locales = map[string]locale{
	"en-US": {"en-US", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "USD", "$"},
	"en-GB": {"en-GB", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "GBP", "£"},
	"en-IN": {"en-IN", ".", ",", [2]int{3, 2}, 1, "-", "¤#", "#%", "INR", "₹"},
	"en-AU": {"en-AU", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "AUD", "$"},
	"de-DE": {"de-DE", ",", ".", [2]int{3, 3}, 1, "-", "#" + nbsp + "¤", "#" + nbsp + "%", "EUR", "€"},
	"de-CH": {"de-CH", ".", "’", [2]int{3, 3}, 1, "-", "¤" + nbsp + "#", "#%", "CHF", "CHF"},
	"fr-FR": {"fr-FR", ",", nnbsp, [2]int{3, 3}, 1, "-", "#" + nbsp + "¤", "#" + nnbsp + "%", "EUR", "€"},
	"es-ES": {"es-ES", ",", ".", [2]int{3, 3}, 2, "-", "#" + nbsp + "¤", "#" + nbsp + "%", "EUR", "€"},
	"es-MX": {"es-MX", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "MXN", "$"},
	"it-IT": {"it-IT", ",", ".", [2]int{3, 3}, 1, "-", "#" + nbsp + "¤", "#%", "EUR", "€"},
	"nl-NL": {"nl-NL", ",", ".", [2]int{3, 3}, 1, "-", "¤" + nbsp + "#", "#%", "EUR", "€"},
	"pt-BR": {"pt-BR", ",", ".", [2]int{3, 3}, 1, "-", "¤" + nbsp + "#", "#%", "BRL", "R$"},
	"sv-SE": {"sv-SE", ",", nbsp, [2]int{3, 3}, 1, "\u2212", "#" + nbsp + "¤", "#" + nbsp + "%", "SEK", "kr"},
	"pl-PL": {"pl-PL", ",", nbsp, [2]int{3, 3}, 2, "-", "#" + nbsp + "¤", "#%", "PLN", "zł"},
	"ru-RU": {"ru-RU", ",", nbsp, [2]int{3, 3}, 1, "-", "#" + nbsp + "¤", "#" + nbsp + "%", "RUB", "₽"},
	"ja-JP": {"ja-JP", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "JPY", "￥"},
	"zh-CN": {"zh-CN", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "CNY", "¥"},
	"ko-KR": {"ko-KR", ".", ",", [2]int{3, 3}, 1, "-", "¤#", "#%", "KRW", "₩"},
}

const localeEnum = "en-US,en-GB,en-IN,en-AU,de-DE,de-CH,fr-FR,es-ES,es-MX,it-IT,nl-NL,pt-BR,sv-SE,pl-PL,ru-RU,ja-JP,zh-CN,ko-KR"

func getLocale(tag string) (locale, error) {
	if tag == "" {
		tag = "en-US"
	}
	if l, ok := locales[tag]; ok {
		return l, nil
	}
	for k, l := range locales { // en_us, EN-us
		if strings.EqualFold(k, strings.ReplaceAll(tag, "_", "-")) {
			return l, nil
		}
	}
	return locale{}, fmt.Errorf("unknown locale %q; use one of %s", tag, strings.ReplaceAll(localeEnum, ",", ", "))
}

// groupDigits inserts the locale's group separator into an integer part.
func groupDigits(digits string, l locale) string {
	if len(digits) < l.grouping[0]+l.minGroup {
		return digits
	}
	var parts []string
	end := len(digits)
	size := l.grouping[0]
	for end > size {
		parts = append(parts, digits[end-size:end])
		end -= size
		size = l.grouping[1]
	}
	parts = append(parts, digits[:end])
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, l.group)
}

func formatDigits(intPart, frac string, l locale, grouping bool) string {
	if grouping {
		intPart = groupDigits(intPart, l)
	}
	if frac != "" {
		return intPart + l.decimal + frac
	}
	return intPart
}

// ---- currencies ----

type currency struct {
	code   string
	digits int
	name   string
}

var currencyTable map[string]currency

func currencies() map[string]currency {
	if currencyTable == nil {
		currencyTable = map[string]currency{}
		for _, line := range strings.Split(strings.TrimSpace(iso4217), "\n") {
			f := strings.SplitN(line, " ", 3)
			d, _ := strconv.Atoi(f[1])
			currencyTable[f[0]] = currency{f[0], d, f[2]}
		}
	}
	return currencyTable
}

// globalSymbols are used outside a currency's home locale: unambiguous
// where the bare sign is shared ($, ¥), the ISO code for the rest.
var globalSymbols = map[string]string{
	"USD": "US$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹", "KRW": "₩",
	"BRL": "R$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "HKD": "HK$", "MXN": "MX$",
	"TWD": "NT$", "ILS": "₪", "VND": "₫", "XAF": "FCFA", "XOF": "F" + nbsp + "CFA",
	"XPF": "CFPF", "PHP": "₱", "XCD": "EC$",
}

// symbolIn is the symbol of a currency in a locale.
func symbolIn(code string, l locale) string {
	if code == l.local {
		return l.symbol
	}
	if s, ok := globalSymbols[code]; ok {
		return s
	}
	return code
}

func lookupCurrency(code string) (currency, error) {
	c, ok := currencies()[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return currency{}, fmt.Errorf("unknown currency %q: use an ISO 4217 code such as USD, EUR or JPY (list_currencies lists them)", code)
	}
	return c, nil
}

type moneyOptions struct {
	display    string // symbol or code
	rounding   string
	accounting bool
	decimals   *int
}

type moneyResult struct {
	formatted  string
	amount     string // rounded, plain decimal
	minorUnits string // integer amount in minor units
	rounded    bool
	decimals   int
}

// formatMoney rounds an amount to the currency's minor unit and writes it
// the way the locale does.
func formatMoney(r *big.Rat, c currency, l locale, o moneyOptions) (moneyResult, error) {
	d := c.digits
	if o.decimals != nil {
		d = *o.decimals
		if d < 0 || d > 8 {
			return moneyResult{}, errors.New("decimals must be between 0 and 8")
		}
	}
	scaled := roundScaled(r, d, o.rounding)
	intPart, frac, neg := splitScaled(scaled, d)
	if len(intPart) > 30 {
		return moneyResult{}, errors.New("the amount has more than 30 integer digits")
	}
	res := moneyResult{decimals: d}
	res.rounded = new(big.Rat).SetFrac(scaled, pow10(d)).Cmp(r) != 0
	res.amount = intPart
	if frac != "" {
		res.amount += "." + frac
	}
	if neg {
		res.amount = "-" + res.amount
	}
	minor := roundScaled(r, c.digits, o.rounding)
	res.minorUnits = minor.String()
	sym := symbolIn(c.code, l)
	if o.display == "code" {
		sym = c.code
	}
	number := formatDigits(intPart, frac, l, true)
	text := applyPattern(l.currency, sym, number)
	switch {
	case !neg:
	case o.accounting:
		text = "(" + text + ")"
	case l.tag == "nl-NL" || l.tag == "de-CH":
		// The sign goes between the symbol and the number: € -1.234,56.
		text = applyPattern(l.currency, sym, l.minus+number)
	default:
		text = l.minus + text
	}
	res.formatted = text
	return res, nil
}

// applyPattern puts the symbol and the number into a pattern, separating a
// symbol that ends (or starts) with a letter from the digits.
func applyPattern(pattern, sym, number string) string {
	si, ni := strings.Index(pattern, "¤"), strings.Index(pattern, "#")
	out := strings.Replace(strings.Replace(pattern, "¤", "\x00", 1), "#", number, 1)
	if si < ni && si+len("¤") == ni && endsWithLetter(sym) {
		sym += nbsp
	}
	if ni < si && ni+1 == si && startsWithLetter(sym) {
		sym = nbsp + sym
	}
	return strings.Replace(out, "\x00", sym, 1)
}

func endsWithLetter(s string) bool {
	r := []rune(s)
	return len(r) > 0 && unicode.IsLetter(r[len(r)-1])
}

func startsWithLetter(s string) bool {
	r := []rune(s)
	return len(r) > 0 && unicode.IsLetter(r[0])
}
