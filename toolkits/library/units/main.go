// Command units is a curated Kiln library module: unit conversion with
// exact rational factors, and number and currency formatting for a set of
// locales (ISO 4217 minor units; no exchange rates).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

// ---- convert_units ----

type convertIn struct {
	Value     json.RawMessage `json:"value" description:"The quantity: a number (12.5) or a string of digits (\"12.5\") for exactness beyond 15 digits"`
	From      string          `json:"from" description:"Unit to convert from: a symbol or name such as km, mi, lb, °F, MiB, kWh, psi (list_units lists them)"`
	To        string          `json:"to" description:"Unit to convert to, of the same dimension"`
	Precision int             `json:"precision,omitempty" description:"Significant digits in text (default 12, 1 to 30)"`
}

type convertOut struct {
	Value     string  `json:"value" description:"The quantity as read"`
	From      string  `json:"from" description:"Symbol of the source unit"`
	To        string  `json:"to" description:"Symbol of the target unit"`
	Dimension string  `json:"dimension" description:"What the units measure, such as length"`
	Result    float64 `json:"result" description:"The converted quantity as a number (binary floating point)"`
	Text      string  `json:"text" description:"The converted quantity rounded to precision significant digits"`
	Exact     string  `json:"exact,omitempty" description:"The exact result as a decimal, or as a fraction p/q when its decimal does not end; absent when a factor is irrational (radians)"`
	Factor    string  `json:"factor,omitempty" description:"The conversion as a sentence, such as 1 mi = 1.609344 km (absent for temperatures, which have offsets)"`
	Note      string  `json:"note,omitempty" description:"Definitions worth knowing, such as which calorie or gallon is meant"`
}

const maxExactDigits = 60

func convertUnits(_ context.Context, in convertIn) (convertOut, error) {
	v, text, err := parseDecimal(in.Value, "value")
	if err != nil {
		return convertOut{}, err
	}
	prec := in.Precision
	switch {
	case prec == 0:
		prec = 12
	case prec < 1 || prec > 30:
		return convertOut{}, errors.New("precision must be between 1 and 30")
	}
	from, err := lookupUnit(in.From)
	if err != nil {
		return convertOut{}, fmt.Errorf("from: %w", err)
	}
	to, err := lookupUnit(in.To)
	if err != nil {
		return convertOut{}, fmt.Errorf("to: %w", err)
	}
	res, err := convert(v, from, to)
	if err != nil {
		return convertOut{}, err
	}
	f, _ := res.Float64()
	out := convertOut{Value: text, From: from.symbol, To: to.symbol, Dimension: from.dim, Result: f, Text: formatSig(res, prec)}
	if from.exact && to.exact {
		out.Exact = exactString(res)
	}
	if from.dim != "temperature" {
		factor := new(big.Rat).Quo(from.factorRat(), to.factorRat())
		fs := formatSig(factor, 15)
		if from.exact && to.exact {
			if e := exactString(factor); len(e) <= 40 && !strings.Contains(e, "/") {
				fs = e
			}
		}
		out.Factor = fmt.Sprintf("1 %s = %s %s", from.symbol, fs, to.symbol)
	}
	var notes []string
	for _, u := range []*unit{from, to} {
		if u.note != "" && !contains(notes, u.note) {
			notes = append(notes, u.note)
		}
	}
	if strings.TrimSpace(in.From) == "KB" || strings.TrimSpace(in.To) == "KB" {
		notes = append(notes, "KB is read as kB (1000 bytes); use KiB for 1024")
	}
	if !from.exact || !to.exact {
		notes = append(notes, "radians involve π: the result is a close approximation")
	}
	out.Note = strings.Join(notes, "; ")
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// formatSig writes r with sig significant digits, in plain notation for
// magnitudes from 1e-6 to 1e21 and in e-notation otherwise, without
// trailing zeros.
func formatSig(r *big.Rat, sig int) string {
	if r.Sign() == 0 {
		return "0"
	}
	f, _ := r.Float64()
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		decimals := sig - 1 - int(math.Floor(math.Log10(abs)))
		if decimals < 0 {
			decimals = 0
		}
		return trimZeros(r.FloatString(decimals))
	}
	s := strconv.FormatFloat(f, 'e', sig-1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	return trimZeros(mant) + "e" + exp
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// exactString writes r as a terminating decimal when it has one of at most
// maxExactDigits decimals, and as p/q otherwise.
func exactString(r *big.Rat) string {
	d := new(big.Int).Set(r.Denom())
	twos, fives := 0, 0
	two, five := big.NewInt(2), big.NewInt(5)
	m := new(big.Int)
	for {
		q, rem := new(big.Int).QuoRem(d, two, m)
		if rem.Sign() != 0 {
			break
		}
		d, twos = q, twos+1
	}
	for {
		q, rem := new(big.Int).QuoRem(d, five, m)
		if rem.Sign() != 0 {
			break
		}
		d, fives = q, fives+1
	}
	if d.Cmp(big.NewInt(1)) == 0 && max(twos, fives) <= maxExactDigits {
		return trimZeros(r.FloatString(max(twos, fives)))
	}
	return r.String()
}

// ---- list_units ----

type listUnitsIn struct {
	Dimension string `json:"dimension,omitempty" enum:"length,area,volume,mass,temperature,time,speed,data,datarate,pressure,energy,power,angle,frequency" description:"Only this dimension (default all)"`
}

type unitInfo struct {
	Symbol  string   `json:"symbol" description:"Symbol to use in convert_units"`
	Name    string   `json:"name" description:"Name of the unit"`
	Aliases []string `json:"aliases,omitempty" description:"Other accepted spellings"`
}

type dimensionInfo struct {
	Dimension string     `json:"dimension" description:"What the units measure"`
	Base      string     `json:"base" description:"The unit the others are defined against"`
	Units     []unitInfo `json:"units" description:"The units"`
}

type listUnitsOut struct {
	Dimensions []dimensionInfo `json:"dimensions" description:"Dimensions with their units"`
}

func listUnits(_ context.Context, in listUnitsIn) (listUnitsOut, error) {
	var out listUnitsOut
	for _, d := range dimensions {
		if in.Dimension != "" && in.Dimension != d.name {
			continue
		}
		di := dimensionInfo{Dimension: d.name, Base: d.base}
		for _, u := range units() {
			if u.dim == d.name {
				di.Units = append(di.Units, unitInfo{Symbol: u.symbol, Name: u.name, Aliases: u.aliases})
			}
		}
		out.Dimensions = append(out.Dimensions, di)
	}
	if len(out.Dimensions) == 0 {
		return out, fmt.Errorf("unknown dimension %q", in.Dimension)
	}
	return out, nil
}

// ---- format_currency ----

type currencyIn struct {
	Amount     json.RawMessage `json:"amount" description:"The amount in major units (dollars, not cents): a number (1234.5) or a string of digits (\"1234.50\") for exactness"`
	Currency   string          `json:"currency" description:"ISO 4217 code, such as USD, EUR, JPY, KWD"`
	Locale     string          `json:"locale,omitempty" enum:"en-US,en-GB,en-IN,en-AU,de-DE,de-CH,fr-FR,es-ES,es-MX,it-IT,nl-NL,pt-BR,sv-SE,pl-PL,ru-RU,ja-JP,zh-CN,ko-KR" description:"How to write it (default en-US)"`
	Display    string          `json:"display,omitempty" enum:"symbol,code" description:"Currency symbol (default) or ISO code"`
	Rounding   string          `json:"rounding,omitempty" enum:"half_up,half_even,down,up" description:"Rounding to the minor unit: half_up (default, halves away from zero), half_even (banker's), down (toward zero), up (away from zero)"`
	Accounting bool            `json:"accounting,omitempty" description:"Write negative amounts in parentheses"`
	Decimals   *int            `json:"decimals,omitempty" description:"Override the currency's minor-unit digits (0 to 8)"`
}

type currencyOut struct {
	Formatted    string `json:"formatted" description:"The amount as the locale writes it"`
	Amount       string `json:"amount" description:"The rounded amount as a plain decimal (1234.50)"`
	MinorUnits   string `json:"minorUnits" description:"The amount as an integer of minor units (123450 cents), as payment APIs expect; a string to stay exact"`
	Currency     string `json:"currency" description:"ISO 4217 code"`
	CurrencyName string `json:"currencyName" description:"English name of the currency"`
	MinorDigits  int    `json:"minorDigits" description:"Decimal digits of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)"`
	Locale       string `json:"locale" description:"Locale used"`
	Rounded      bool   `json:"rounded" description:"True when rounding changed the amount"`
}

func formatCurrency(_ context.Context, in currencyIn) (currencyOut, error) {
	r, _, err := parseDecimal(in.Amount, "amount")
	if err != nil {
		return currencyOut{}, err
	}
	c, err := lookupCurrency(in.Currency)
	if err != nil {
		return currencyOut{}, err
	}
	l, err := getLocale(in.Locale)
	if err != nil {
		return currencyOut{}, err
	}
	res, err := formatMoney(r, c, l, moneyOptions{display: in.Display, rounding: in.Rounding, accounting: in.Accounting, decimals: in.Decimals})
	if err != nil {
		return currencyOut{}, err
	}
	return currencyOut{
		Formatted: res.formatted, Amount: res.amount, MinorUnits: res.minorUnits, Currency: c.code,
		CurrencyName: c.name, MinorDigits: c.digits, Locale: l.tag, Rounded: res.rounded,
	}, nil
}

// ---- format_number ----

type numberIn struct {
	Number   json.RawMessage `json:"number" description:"The number: a JSON number or a string of digits"`
	Locale   string          `json:"locale,omitempty" enum:"en-US,en-GB,en-IN,en-AU,de-DE,de-CH,fr-FR,es-ES,es-MX,it-IT,nl-NL,pt-BR,sv-SE,pl-PL,ru-RU,ja-JP,zh-CN,ko-KR" description:"How to write it (default en-US)"`
	Style    string          `json:"style,omitempty" enum:"decimal,percent" description:"decimal (default) or percent (0.256 → 25.6%)"`
	Decimals *int            `json:"decimals,omitempty" description:"Exact number of decimals (0 to 20); default: as many as the number has (percent: up to 2)"`
	Grouping *bool           `json:"grouping,omitempty" description:"Use group separators such as 1,234,567 (default true)"`
	Rounding string          `json:"rounding,omitempty" enum:"half_up,half_even,down,up" description:"Rounding when decimals cuts digits (default half_up)"`
}

type numberOut struct {
	Formatted string `json:"formatted" description:"The number as the locale writes it"`
	Locale    string `json:"locale" description:"Locale used"`
}

func formatNumber(_ context.Context, in numberIn) (numberOut, error) {
	r, _, err := parseDecimal(in.Number, "number")
	if err != nil {
		return numberOut{}, err
	}
	l, err := getLocale(in.Locale)
	if err != nil {
		return numberOut{}, err
	}
	percent := false
	switch in.Style {
	case "", "decimal":
	case "percent":
		percent = true
		r = new(big.Rat).Mul(r, big.NewRat(100, 1))
	default:
		return numberOut{}, fmt.Errorf("unknown style %q: use decimal or percent", in.Style)
	}
	var d int
	switch {
	case in.Decimals != nil:
		d = *in.Decimals
		if d < 0 || d > 20 {
			return numberOut{}, errors.New("decimals must be between 0 and 20")
		}
	case percent:
		d = scaleOf(r, 2)
	default:
		d = scaleOf(r, 20)
	}
	scaled := roundScaled(r, d, in.Rounding)
	intPart, frac, neg := splitScaled(scaled, d)
	if len(intPart) > 40 {
		return numberOut{}, errors.New("the number has more than 40 integer digits")
	}
	if percent && in.Decimals == nil {
		frac = strings.TrimRight(frac, "0")
	}
	text := formatDigits(intPart, frac, l, in.Grouping == nil || *in.Grouping)
	if percent {
		text = strings.Replace(l.percent, "#", text, 1)
	}
	if neg {
		text = l.minus + text
	}
	return numberOut{Formatted: text, Locale: l.tag}, nil
}

// ---- list_currencies ----

type listCurrenciesIn struct {
	Filter string `json:"filter,omitempty" description:"Only currencies whose code or name contains this text (case-insensitive)"`
}

type currencyInfo struct {
	Code        string `json:"code" description:"ISO 4217 code"`
	Name        string `json:"name" description:"English name"`
	MinorDigits int    `json:"minorDigits" description:"Decimal digits of the minor unit"`
	Symbol      string `json:"symbol" description:"Symbol used outside its home locale (the code when there is none)"`
}

type listCurrenciesOut struct {
	Count      int            `json:"count" description:"Number of currencies listed"`
	Currencies []currencyInfo `json:"currencies" description:"Currencies by code"`
}

func listCurrencies(_ context.Context, in listCurrenciesIn) (listCurrenciesOut, error) {
	q := strings.ToLower(strings.TrimSpace(in.Filter))
	out := listCurrenciesOut{Currencies: []currencyInfo{}}
	for _, c := range currencies() {
		if q != "" && !strings.Contains(strings.ToLower(c.code+" "+c.name), q) {
			continue
		}
		sym := c.code
		if s, ok := globalSymbols[c.code]; ok {
			sym = s
		}
		out.Currencies = append(out.Currencies, currencyInfo{Code: c.code, Name: c.name, MinorDigits: c.digits, Symbol: sym})
	}
	sort.Slice(out.Currencies, func(i, j int) bool { return out.Currencies[i].Code < out.Currencies[j].Code })
	out.Count = len(out.Currencies)
	return out, nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("convert_units", "Converts a quantity between units of length, area, volume, mass, temperature, time, speed, data, data rate, pressure, energy, power, angle or frequency, exactly where the units are defined exactly", convertUnits),
		kiln.NewTool("list_units", "Lists the units convert_units knows, by dimension, with accepted spellings", listUnits),
		kiln.NewTool("format_currency", "Formats a money amount for a locale, rounded to the currency's ISO 4217 minor unit, and gives it in minor units (cents). No exchange rates.", formatCurrency),
		kiln.NewTool("format_number", "Formats a number or percentage with a locale's decimal and group separators (1,234.5 / 1.234,5 / 12,34,567)", formatNumber),
		kiln.NewTool("list_currencies", "Lists ISO 4217 currencies with their minor-unit digits", listCurrencies),
	}, Warm: warmPools})
	warm()
}

// warmPools runs one conversion after the toolkit's collection (Module.Warm),
// so that the snapshot holds math/big's and fmt's pools filled: a
// convert_units call found them empty and spent some 40k of its 333k
// instructions in sync.Pool refilling them.
func warmPools() {
	_, _ = convertUnits(context.Background(), convertIn{Value: json.RawMessage("12.5"), From: "mi", To: "km"})
}

// warm builds the unit index and parses every factor, then runs one
// conversion. Run returns only in the reactor form, where this runs once at
// initialisation (the toolkit then collects the garbage) and the host's
// snapshot keeps the result: each call then starts with the tables built,
// instead of building them and growing the memory (which makes the host
// discard the instance rather than restore it). In the command form Run
// exits first, and a call builds only what it uses.
func warm() {
	for _, u := range index().exact {
		u.factorRat()
	}
	_, _ = convertUnits(context.Background(), convertIn{Value: json.RawMessage("1"), From: "mi", To: "km"})
}
