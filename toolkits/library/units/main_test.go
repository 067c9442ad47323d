package main

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

var ctx = context.Background()

func num(s string) json.RawMessage { return json.RawMessage(s) }

func intp(i int) *int { return &i }

func TestConvertUnits(t *testing.T) {
	cases := []struct {
		value, from, to string
		text, exact     string
	}{
		{"1", "mi", "km", "1.609344", "1.609344"},
		{"1", "in", "cm", "2.54", "2.54"},
		{"100", "km/h", "mph", "62.1371192237", "15625000/251460"},
		{"0.1", "m", "mm", "100", "100"},
		{"1", "lb", "kg", "0.45359237", "0.45359237"},
		{"1", "kg", "lb", "2.20462262185", "100000000/45359237"},
		{"16", "oz", "lb", "1", "1"},
		{"1", "st", "lb", "14", "14"},
		{"100", "C", "F", "212", "212"},
		{"-40", "°F", "°C", "-40", "-40"},
		{"0", "K", "C", "-273.15", "-273.15"},
		{"98.6", "fahrenheit", "celsius", "37", "37"},
		{"491.67", "R", "C", "0", "0"},
		{"1", "gal", "L", "3.785411784", "3.785411784"},
		{"1", "imp_gal", "gal", "1.2009499255", "454609/378541.1784"},
		{"1", "cup", "tbsp", "16", "16"},
		{"3", "tsp", "tbsp", "1", "1"},
		{"1", "acre", "m2", "4046.8564224", "4046.8564224"},
		{"1", "ha", "acre", "2.47105381467", ""},
		{"1", "GiB", "MB", "1073.741824", "1073.741824"},
		{"1", "MB", "MiB", "0.953674316406", "0.95367431640625"},
		{"8", "bit", "B", "1", "1"},
		{"100", "Mbit/s", "MB/s", "12.5", "12.5"},
		{"1", "atm", "psi", "14.6959487755", ""},
		{"1", "bar", "kPa", "100", "100"},
		{"760", "mmHg", "atm", "1.00000014247", "24125003437/24125000000"},
		{"1", "kWh", "MJ", "3.6", "3.6"},
		{"1", "kcal", "kJ", "4.184", "4.184"},
		{"1", "BTU", "J", "1055.05585262", "1055.05585262"},
		{"1", "eV", "J", "1.602176634e-19", "0.0000000000000000001602176634"},
		{"1", "hp", "W", "745.699871582", "745.69987158227022"},
		{"90", "deg", "turn", "0.25", "0.25"},
		{"1", "h", "s", "3600", "3600"},
		{"1", "yr", "d", "365.25", "365.25"},
		{"1", "ly", "km", "9460730472581", "9460730472580.8"},
		{"1", "kn", "km/h", "1.852", "1.852"},
		{"3000", "rpm", "Hz", "50", "50"},
		{"1e3", "g", "kg", "1", "1"},
		{`"0.3"`, "m", "cm", "30", "30"},
		{`"123456789012345678901234567890"`, "mm", "m", "1.23456789012e+26", "123456789012345678901234567.89"},
		{"1", "kilometers", "meters", "1000", "1000"},
		{"2", "Feet", "INCHES", "24", "24"},
		{"1", "sq ft", "m²", "0.09290304", "0.09290304"},
		{"1", "km^2", "ha", "100", "100"},
		{"1", "µm", "nm", "1000", "1000"},
		{"1", "KB", "B", "1000", "1000"},
		{"-5", "m", "ft", "-16.4041994751", "-6250/381"},
	}
	for _, c := range cases {
		out, err := convertUnits(ctx, convertIn{Value: num(c.value), From: c.from, To: c.to})
		if err != nil {
			t.Errorf("%s %s→%s: %v", c.value, c.from, c.to, err)
			continue
		}
		wantExact := c.exact
		if strings.Contains(wantExact, "/") { // compare fractions by value
			r := rat(wantExact)
			wantExact = r.String()
			if !strings.Contains(wantExact, "/") {
				wantExact = exactString(r)
			}
		}
		if out.Text != c.text || (c.exact != "" && out.Exact != wantExact) {
			t.Errorf("%s %s→%s: got text %s exact %s; want %s, %s", c.value, c.from, c.to, out.Text, out.Exact, c.text, wantExact)
		}
	}
}

func TestConvertUnitsDetails(t *testing.T) {
	out, err := convertUnits(ctx, convertIn{Value: num("2"), From: "mi", To: "km"})
	if err != nil {
		t.Fatal(err)
	}
	if out.From != "mi" || out.To != "km" || out.Dimension != "length" || out.Result != 3.218688 || out.Factor != "1 mi = 1.609344 km" || out.Value != "2" {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1"), From: "rad", To: "deg"})
	if out.Exact != "" || out.Text != "57.2957795131" || !strings.Contains(out.Note, "π") {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("20"), From: "C", To: "F"})
	if out.Factor != "" || out.Text != "68" {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1"), From: "cal", To: "J"})
	if !strings.Contains(out.Note, "thermochemical") {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1"), From: "KB", To: "B"})
	if !strings.Contains(out.Note, "KiB") {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1"), From: "m", To: "ft", Precision: 3})
	if out.Text != "3.28" {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1"), From: "m", To: "in", Precision: 30})
	if out.Text != "39.3700787401574803149606299213" {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("1e-12"), From: "m", To: "km"})
	if out.Text != "1e-15" {
		t.Fatalf("got %+v", out)
	}
	out, _ = convertUnits(ctx, convertIn{Value: num("0"), From: "m", To: "km"})
	if out.Text != "0" || out.Exact != "0" {
		t.Fatalf("got %+v", out)
	}
}

func TestConvertUnitsErrors(t *testing.T) {
	cases := []struct {
		in   convertIn
		want string
	}{
		{convertIn{From: "m", To: "ft"}, "value is required"},
		{convertIn{Value: num("null"), From: "m", To: "ft"}, "value is required"},
		{convertIn{Value: num(`"1,000"`), From: "m", To: "ft"}, "without grouping separators"},
		{convertIn{Value: num(`"abc"`), From: "m", To: "ft"}, "not a number"},
		{convertIn{Value: num("true"), From: "m", To: "ft"}, "not a number"},
		{convertIn{Value: num("1e99999"), From: "m", To: "ft"}, "not a number"},
		{convertIn{Value: num("1"), From: "m", To: "kg"}, "cannot convert m (length) to kg (mass)"},
		{convertIn{Value: num("1"), From: "furlong", To: "m"}, "from: unknown unit \"furlong\""},
		{convertIn{Value: num("1"), From: "m", To: "mb"}, "ambiguous: write MB (megabyte) or Mbit (megabit)"},
		{convertIn{Value: num("1"), From: "kb", To: "B"}, "ambiguous"},
		{convertIn{Value: num("1"), From: "kilom", To: "m"}, "did you mean"},
		{convertIn{Value: num("-300"), From: "C", To: "K"}, "below absolute zero"},
		{convertIn{Value: num("1"), From: "m", To: "ft", Precision: 31}, "precision"},
		{convertIn{Value: num("1"), From: "m", To: "ft", Precision: -1}, "precision"},
	}
	for _, c := range cases {
		if _, err := convertUnits(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s→%s: got %v, want %q", c.in.Value, c.in.From, c.in.To, err, c.want)
		}
	}
}

func TestUnitTableConsistency(t *testing.T) {
	dims := map[string]bool{}
	for _, d := range dimensions {
		dims[d.name] = true
	}
	symbols := map[string]bool{}
	for _, u := range units() {
		if !dims[u.dim] {
			t.Errorf("%s: unknown dimension %s", u.symbol, u.dim)
		}
		if symbols[u.symbol] {
			t.Errorf("symbol %s declared twice", u.symbol)
		}
		symbols[u.symbol] = true
		if u.factorRat().Sign() <= 0 {
			t.Errorf("%s: factor %v", u.symbol, u.factorRat())
		}
		// Every symbol and alias finds its own unit.
		for _, k := range append([]string{u.symbol, u.name}, u.aliases...) {
			got, err := lookupUnit(k)
			if err != nil || got != u {
				if got, err := lookupUnit(k); err == nil && got.dim == u.dim && got.factorRat().Cmp(u.factorRat()) == 0 {
					continue // a shared alias for equal units
				}
				t.Errorf("%q: got %v, %v; want %s", k, got, err, u.symbol)
			}
		}
	}
	// Each dimension's base unit exists with factor 1.
	for _, d := range dimensions {
		u, err := lookupUnit(d.base)
		if err != nil || u.factorRat().Cmp(big.NewRat(1, 1)) != 0 || u.dim != d.name {
			t.Errorf("base %s of %s: %v %v", d.base, d.name, u, err)
		}
	}
}

func TestListUnits(t *testing.T) {
	out, err := listUnits(ctx, listUnitsIn{})
	if err != nil || len(out.Dimensions) != len(dimensions) {
		t.Fatalf("got %d, %v", len(out.Dimensions), err)
	}
	out, _ = listUnits(ctx, listUnitsIn{Dimension: "temperature"})
	if len(out.Dimensions) != 1 || len(out.Dimensions[0].Units) != 4 || out.Dimensions[0].Base != "K" {
		t.Fatalf("got %+v", out)
	}
	if _, err := listUnits(ctx, listUnitsIn{Dimension: "smell"}); err == nil {
		t.Fatal("unknown dimension accepted")
	}
}

func TestFormatCurrency(t *testing.T) {
	cases := []struct {
		in                       currencyIn
		formatted, amount, minor string
		rounded                  bool
	}{
		{currencyIn{Amount: num("1234567.891"), Currency: "USD"}, "$1,234,567.89", "1234567.89", "123456789", true},
		{currencyIn{Amount: num("1234.5"), Currency: "EUR", Locale: "de-DE"}, "1.234,50\u00a0€", "1234.50", "123450", false},
		{currencyIn{Amount: num("1234.5"), Currency: "EUR", Locale: "fr-FR"}, "1\u202f234,50\u00a0€", "1234.50", "123450", false},
		{currencyIn{Amount: num("1234.5"), Currency: "EUR", Locale: "es-ES"}, "1234,50\u00a0€", "1234.50", "123450", false},
		{currencyIn{Amount: num("12345.5"), Currency: "EUR", Locale: "es-ES"}, "12.345,50\u00a0€", "12345.50", "1234550", false},
		{currencyIn{Amount: num("1234.5"), Currency: "EUR", Locale: "nl-NL"}, "€\u00a01.234,50", "1234.50", "123450", false},
		{currencyIn{Amount: num("-1234.5"), Currency: "EUR", Locale: "nl-NL"}, "€\u00a0-1.234,50", "-1234.50", "-123450", false},
		{currencyIn{Amount: num("1234567.5"), Currency: "INR", Locale: "en-IN"}, "₹12,34,567.50", "1234567.50", "123456750", false},
		{currencyIn{Amount: num("1234.5"), Currency: "JPY", Locale: "ja-JP"}, "￥1,235", "1235", "1235", true},
		{currencyIn{Amount: num("1234.5"), Currency: "JPY"}, "¥1,235", "1235", "1235", true},
		{currencyIn{Amount: num("1.2345"), Currency: "KWD"}, "KWD\u00a01.235", "1.235", "1235", true},
		{currencyIn{Amount: num("1234.56"), Currency: "CHF", Locale: "de-CH"}, "CHF\u00a01’234.56", "1234.56", "123456", false},
		{currencyIn{Amount: num("-1234.56"), Currency: "SEK", Locale: "sv-SE"}, "\u22121\u00a0234,56\u00a0kr", "-1234.56", "-123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "BRL", Locale: "pt-BR"}, "R$\u00a01.234,56", "1234.56", "123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "USD", Locale: "en-GB"}, "US$1,234.56", "1234.56", "123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "USD", Locale: "de-DE"}, "1.234,56\u00a0US$", "1234.56", "123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "PLN", Locale: "pl-PL"}, "1234,56\u00a0zł", "1234.56", "123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "usd", Display: "code"}, "USD\u00a01,234.56", "1234.56", "123456", false},
		{currencyIn{Amount: num("1234.56"), Currency: "USD", Locale: "de-DE", Display: "code"}, "1.234,56\u00a0USD", "1234.56", "123456", false},
		{currencyIn{Amount: num("-5"), Currency: "USD"}, "-$5.00", "-5.00", "-500", false},
		{currencyIn{Amount: num("-5"), Currency: "USD", Accounting: true}, "($5.00)", "-5.00", "-500", false},
		{currencyIn{Amount: num("-0.001"), Currency: "USD"}, "$0.00", "0.00", "0", true},
		{currencyIn{Amount: num(`"0.125"`), Currency: "USD"}, "$0.13", "0.13", "13", true},
		{currencyIn{Amount: num(`"0.125"`), Currency: "USD", Rounding: "half_even"}, "$0.12", "0.12", "12", true},
		{currencyIn{Amount: num(`"0.135"`), Currency: "USD", Rounding: "half_even"}, "$0.14", "0.14", "14", true},
		{currencyIn{Amount: num(`"0.129"`), Currency: "USD", Rounding: "down"}, "$0.12", "0.12", "12", true},
		{currencyIn{Amount: num(`"0.121"`), Currency: "USD", Rounding: "up"}, "$0.13", "0.13", "13", true},
		{currencyIn{Amount: num(`"-0.125"`), Currency: "USD"}, "-$0.13", "-0.13", "-13", true},
		{currencyIn{Amount: num("1234.5678"), Currency: "USD", Decimals: intp(4)}, "$1,234.5678", "1234.5678", "123457", false},
		{currencyIn{Amount: num("99"), Currency: "XOF", Locale: "fr-FR"}, "99\u00a0F\u00a0CFA", "99", "99", false},
		{currencyIn{Amount: num("1e6"), Currency: "KRW", Locale: "ko-KR"}, "₩1,000,000", "1000000", "1000000", false},
		{currencyIn{Amount: num("0.1"), Currency: "CLF"}, "CLF\u00a00.1000", "0.1000", "1000", false},
	}
	for _, c := range cases {
		out, err := formatCurrency(ctx, c.in)
		if err != nil {
			t.Errorf("%s %s %s: %v", c.in.Amount, c.in.Currency, c.in.Locale, err)
			continue
		}
		if out.Formatted != c.formatted || out.Amount != c.amount || out.MinorUnits != c.minor || out.Rounded != c.rounded {
			t.Errorf("%s %s %s: got %q %s %s %v; want %q %s %s %v", c.in.Amount, c.in.Currency, c.in.Locale,
				out.Formatted, out.Amount, out.MinorUnits, out.Rounded, c.formatted, c.amount, c.minor, c.rounded)
		}
	}
	out, _ := formatCurrency(ctx, currencyIn{Amount: num("1"), Currency: "BHD"})
	if out.MinorDigits != 3 || out.CurrencyName != "Bahraini Dinar" || out.Locale != "en-US" {
		t.Fatalf("got %+v", out)
	}
	for _, c := range []struct {
		in   currencyIn
		want string
	}{
		{currencyIn{Amount: num("1"), Currency: "XYZ"}, "unknown currency"},
		{currencyIn{Amount: num("1"), Currency: "USD", Locale: "xx-XX"}, "unknown locale"},
		{currencyIn{Amount: num("1"), Currency: "USD", Decimals: intp(9)}, "decimals"},
		{currencyIn{Amount: num(`"$5"`), Currency: "USD"}, "not a number"},
		{currencyIn{Currency: "USD"}, "amount is required"},
		{currencyIn{Amount: num("1e40"), Currency: "USD"}, "more than 30 integer digits"},
	} {
		if _, err := formatCurrency(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.in, err, c.want)
		}
	}
	// Locale tags are matched case-insensitively, with _ for -.
	if out, err := formatCurrency(ctx, currencyIn{Amount: num("1"), Currency: "EUR", Locale: "de_de"}); err != nil || out.Locale != "de-DE" {
		t.Fatalf("got %+v %v", out, err)
	}
}

func TestFormatNumber(t *testing.T) {
	f := false
	cases := []struct {
		in   numberIn
		want string
	}{
		{numberIn{Number: num("1234567.891")}, "1,234,567.891"},
		{numberIn{Number: num("1234567.891"), Locale: "de-DE"}, "1.234.567,891"},
		{numberIn{Number: num("1234567.891"), Locale: "fr-FR"}, "1\u202f234\u202f567,891"},
		{numberIn{Number: num("1234567.891"), Locale: "en-IN"}, "12,34,567.891"},
		{numberIn{Number: num("1234567.891"), Locale: "de-CH"}, "1’234’567.891"},
		{numberIn{Number: num("1234"), Locale: "pl-PL"}, "1234"},
		{numberIn{Number: num("12345"), Locale: "pl-PL"}, "12\u00a0345"},
		{numberIn{Number: num("1234567.891"), Decimals: intp(1)}, "1,234,567.9"},
		{numberIn{Number: num("2.5"), Decimals: intp(0)}, "3"},
		{numberIn{Number: num("2.5"), Decimals: intp(0), Rounding: "half_even"}, "2"},
		{numberIn{Number: num("1234.5"), Decimals: intp(3)}, "1,234.500"},
		{numberIn{Number: num("1234567"), Grouping: &f}, "1234567"},
		{numberIn{Number: num("-1234.5")}, "-1,234.5"},
		{numberIn{Number: num("-1234.5"), Locale: "sv-SE"}, "\u22121\u00a0234,5"},
		{numberIn{Number: num("0.256"), Style: "percent"}, "25.6%"},
		{numberIn{Number: num("0.25"), Style: "percent"}, "25%"},
		{numberIn{Number: num("0.123456"), Style: "percent"}, "12.35%"},
		{numberIn{Number: num("0.256"), Style: "percent", Locale: "de-DE"}, "25,6\u00a0%"},
		{numberIn{Number: num("0.256"), Style: "percent", Locale: "fr-FR"}, "25,6\u202f%"},
		{numberIn{Number: num("12.5"), Style: "percent", Decimals: intp(2)}, "1,250.00%"},
		{numberIn{Number: num("1e-3")}, "0.001"},
		{numberIn{Number: num("0")}, "0"},
		{numberIn{Number: num(`"123456789012345678901234567890.5"`)}, "123,456,789,012,345,678,901,234,567,890.5"},
	}
	for _, c := range cases {
		out, err := formatNumber(ctx, c.in)
		if err != nil || out.Formatted != c.want {
			t.Errorf("%s %s: got %q, %v; want %q", c.in.Number, c.in.Locale, out.Formatted, err, c.want)
		}
	}
	for _, in := range []numberIn{
		{Number: num("1"), Style: "scientific"},
		{Number: num("1"), Decimals: intp(21)},
		{Number: num("1"), Locale: "tlh"},
		{Number: num("1e50")},
		{Number: num(`"1 000"`)},
	} {
		if _, err := formatNumber(ctx, in); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
}

func TestListCurrencies(t *testing.T) {
	out, _ := listCurrencies(ctx, listCurrenciesIn{})
	if out.Count < 150 || out.Currencies[0].Code != "AED" {
		t.Fatalf("got %d", out.Count)
	}
	out, _ = listCurrencies(ctx, listCurrenciesIn{Filter: "dinar"})
	for _, c := range out.Currencies {
		if !strings.Contains(strings.ToLower(c.Name), "dinar") {
			t.Fatalf("got %+v", c)
		}
	}
	if out.Count < 6 {
		t.Fatalf("got %d dinars", out.Count)
	}
	out, _ = listCurrencies(ctx, listCurrenciesIn{Filter: "usd"})
	if out.Count != 1 || out.Currencies[0].Symbol != "US$" || out.Currencies[0].MinorDigits != 2 {
		t.Fatalf("got %+v", out)
	}
	for code, c := range currencies() {
		if len(code) != 3 || strings.ToUpper(code) != code || c.digits < 0 || c.digits > 4 || c.name == "" {
			t.Errorf("bad entry %s %+v", code, c)
		}
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[string]string{"1/3": "1/3", "1/8": "0.125", "5": "5", "-7/4": "-1.75", "1/1024": "0.0009765625"} {
		r, _ := new(big.Rat).SetString(in)
		if got := exactString(r); got != want {
			t.Errorf("exactString(%s) = %s, want %s", in, got, want)
		}
	}
	for _, c := range []struct {
		r    string
		sig  int
		want string
	}{
		{"1/3", 5, "0.33333"}, {"2/3", 3, "0.667"}, {"123456789", 3, "123456789"}, {"1/1000000000", 4, "1e-09"},
		{"-1/3", 2, "-0.33"}, {"100000000000000000000000", 3, "1e+23"}, {"1/1000000", 3, "0.000001"},
	} {
		r, _ := new(big.Rat).SetString(c.r)
		if got := formatSig(r, c.sig); got != c.want {
			t.Errorf("formatSig(%s, %d) = %s, want %s", c.r, c.sig, got, c.want)
		}
	}
	l := locales["en-IN"]
	for in, want := range map[string]string{"1": "1", "123": "123", "1234": "1,234", "123456": "1,23,456", "12345678": "1,23,45,678"} {
		if got := groupDigits(in, l); got != want {
			t.Errorf("groupDigits(%s) = %s, want %s", in, got, want)
		}
	}
	if rat("1/4*2").Cmp(big.NewRat(1, 2)) != 0 || rat("3").Cmp(big.NewRat(3, 1)) != 0 {
		t.Error("rat")
	}
	if scaleOf(big.NewRat(1, 8), 20) != 3 || scaleOf(big.NewRat(1, 3), 5) != 5 {
		t.Error("scaleOf")
	}
}

// TestWarm: what the reactor form builds at initialisation is complete, so
// a call restored from the snapshot builds (and allocates) nothing more
// for its units.
func TestWarm(t *testing.T) {
	warm()
	if idx == nil {
		t.Fatal("warm left no unit index")
	}
	for k, u := range idx.exact {
		if u.factor == nil {
			t.Errorf("unit %q has no parsed factor after warm", k)
		}
	}
}
