package main

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
)

// A unit converts to its dimension's base unit as base = value×factor +
// offset (the offset is only used by temperatures). Factors are exact
// rationals where the unit is defined exactly (the inch is 0.0254 m, the
// pound 0.45359237 kg); the few that involve π are marked inexact.
type unit struct {
	symbol  string
	name    string
	dim     string
	expr    string   // factor expression, parsed on first use
	factor  *big.Rat // see factorRat
	offset  *big.Rat // nil means 0
	exact   bool
	aliases []string
	note    string
}

// factorRat returns the unit's factor, parsing it on first use: a call
// converts between two units, so parsing all of them would be wasted fuel.
func (u *unit) factorRat() *big.Rat {
	if u.factor == nil {
		u.factor = rat(u.expr)
	}
	return u.factor
}

type dimension struct {
	name string
	base string
}

var dimensions = []dimension{
	{"length", "m"}, {"area", "m2"}, {"volume", "m3"}, {"mass", "kg"}, {"temperature", "K"},
	{"time", "s"}, {"speed", "m/s"}, {"data", "B"}, {"datarate", "bit/s"}, {"pressure", "Pa"},
	{"energy", "J"}, {"power", "W"}, {"angle", "deg"}, {"frequency", "Hz"},
}

// rat parses a factor expression: decimal or fraction terms joined by * and
// /, evaluated left to right ("0.45359237*9.80665/0.00064516").
func rat(expr string) *big.Rat {
	out := new(big.Rat).SetInt64(1)
	op := byte('*')
	start := 0
	for i := 0; i <= len(expr); i++ {
		if i < len(expr) && expr[i] != '*' && expr[i] != '/' {
			continue
		}
		r, ok := new(big.Rat).SetString(expr[start:i])
		if !ok {
			panic("bad factor " + expr)
		}
		if op == '*' {
			out.Mul(out, r)
		} else {
			out.Quo(out, r)
		}
		if i < len(expr) {
			op = expr[i]
		}
		start = i + 1
	}
	return out
}

// floatRat is a rational close to an irrational number, for inexact units.
func floatRat(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }

// unitTable is built on first use (each call runs in a fresh instance; only
// the unit tools need it).
var unitTable []*unit

func units() []*unit {
	if unitTable != nil {
		return unitTable
	}
	add := func(dim, symbol, name, factor string, aliases ...string) *unit {
		u := &unit{symbol: symbol, name: name, dim: dim, expr: factor, exact: true, aliases: aliases}
		unitTable = append(unitTable, u)
		return u
	}
	const (
		lb    = "0.45359237"
		g0    = "9.80665"
		usGal = "0.003785411784"
		btu   = "1055.05585262"
		mmHg  = "133.322387415"
	)
	// length (m)
	add("length", "m", "metre", "1", "meter", "meters", "metres")
	add("length", "km", "kilometre", "1000", "kilometer", "kilometers", "kilometres")
	add("length", "cm", "centimetre", "1/100", "centimeter", "centimeters", "centimetres")
	add("length", "mm", "millimetre", "1/1000", "millimeter", "millimeters", "millimetres")
	add("length", "um", "micrometre", "1e-6", "µm", "μm", "micrometer", "micron", "microns")
	add("length", "nm", "nanometre", "1e-9", "nanometer", "nanometers")
	add("length", "in", "inch", "0.0254", "inches", `"`)
	add("length", "ft", "foot", "0.3048", "feet", "'")
	add("length", "yd", "yard", "0.9144", "yards")
	add("length", "mi", "mile", "1609.344", "miles", "statute mile")
	add("length", "nmi", "nautical mile", "1852", "NM", "nautical miles")
	add("length", "mil", "mil", "0.0000254", "thou")
	add("length", "au", "astronomical unit", "149597870700", "AU")
	add("length", "ly", "light-year", "9460730472580800", "light year", "light years", "light-years")
	// area (m²)
	add("area", "m2", "square metre", "1", "m²", "sq m", "square meter", "square meters", "sqm")
	add("area", "km2", "square kilometre", "1e6", "km²", "sq km", "square kilometer", "square kilometers")
	add("area", "cm2", "square centimetre", "1e-4", "cm²", "sq cm", "square centimeter")
	add("area", "mm2", "square millimetre", "1e-6", "mm²", "sq mm", "square millimeter")
	add("area", "ha", "hectare", "10000", "hectares")
	add("area", "acre", "acre", "4046.8564224", "acres", "ac")
	add("area", "ft2", "square foot", "0.09290304", "ft²", "sq ft", "square feet", "sqft")
	add("area", "in2", "square inch", "0.00064516", "in²", "sq in", "square inches")
	add("area", "yd2", "square yard", "0.83612736", "yd²", "sq yd", "square yards")
	add("area", "mi2", "square mile", "2589988.110336", "mi²", "sq mi", "square miles")
	// volume (m³)
	add("volume", "m3", "cubic metre", "1", "m³", "cubic meter", "cubic meters")
	add("volume", "L", "litre", "1/1000", "l", "liter", "liters", "litres")
	add("volume", "mL", "millilitre", "1e-6", "ml", "milliliter", "milliliters", "cm3", "cm³", "cc")
	add("volume", "cL", "centilitre", "1e-5", "cl", "centiliter")
	add("volume", "dL", "decilitre", "1e-4", "dl", "deciliter")
	add("volume", "ft3", "cubic foot", "0.028316846592", "ft³", "cu ft", "cubic feet")
	add("volume", "in3", "cubic inch", "0.000016387064", "in³", "cu in", "cubic inches")
	add("volume", "yd3", "cubic yard", "0.764554857984", "yd³", "cubic yards")
	add("volume", "gal", "US gallon", usGal, "gallon", "gallons", "US gal", "us gallon")
	add("volume", "qt", "US quart", usGal+"/4", "quart", "quarts")
	add("volume", "pt", "US pint", usGal+"/8", "pint", "pints")
	add("volume", "cup", "US cup", usGal+"/16", "cups")
	add("volume", "floz", "US fluid ounce", usGal+"/128", "fl oz", "fluid ounce", "fluid ounces")
	add("volume", "tbsp", "tablespoon", usGal+"/256", "tablespoon", "tablespoons", "Tbsp")
	add("volume", "tsp", "teaspoon", usGal+"/768", "teaspoons")
	add("volume", "imp_gal", "imperial gallon", "0.00454609", "imperial gallon", "imperial gallons", "uk gallon", "UK gal")
	add("volume", "imp_qt", "imperial quart", "0.00454609/4", "imperial quart")
	add("volume", "imp_pt", "imperial pint", "0.00454609/8", "imperial pint", "imperial pints", "uk pint")
	add("volume", "imp_floz", "imperial fluid ounce", "0.00454609/160", "imperial fluid ounce", "uk fl oz")
	add("volume", "bbl", "oil barrel", usGal+"*42", "barrel", "barrels")
	// mass (kg)
	add("mass", "kg", "kilogram", "1", "kilograms", "kilo", "kilos")
	add("mass", "g", "gram", "1/1000", "grams", "gramme")
	add("mass", "mg", "milligram", "1e-6", "milligrams")
	add("mass", "ug", "microgram", "1e-9", "µg", "μg", "mcg", "micrograms")
	add("mass", "t", "tonne", "1000", "tonnes", "metric ton", "metric tons")
	add("mass", "lb", "pound", lb, "lbs", "pounds")
	add("mass", "oz", "ounce", lb+"/16", "ounces")
	add("mass", "st", "stone", lb+"*14", "stones")
	add("mass", "ton", "short ton", lb+"*2000", "short tons", "US ton", "tons")
	add("mass", "long_ton", "long ton", lb+"*2240", "long tons", "imperial ton")
	add("mass", "gr", "grain", lb+"/7000", "grains")
	add("mass", "ct", "carat", "0.0002", "carats")
	add("mass", "ozt", "troy ounce", "0.0311034768", "troy ounces", "oz t")
	// temperature (K), absolute temperatures
	for _, t := range []struct {
		symbol, name, factor, offset string
		aliases                      []string
	}{
		{"K", "kelvin", "1", "0", []string{"kelvins"}},
		{"C", "degree Celsius", "1", "273.15", []string{"°C", "celsius", "degC", "centigrade"}},
		{"F", "degree Fahrenheit", "5/9", "45967/180", []string{"°F", "fahrenheit", "degF"}},
		{"R", "degree Rankine", "5/9", "0", []string{"°R", "rankine", "degR"}},
	} {
		u := add("temperature", t.symbol, t.name, t.factor, t.aliases...)
		u.offset = rat(t.offset)
	}
	// time (s)
	add("time", "ns", "nanosecond", "1e-9", "nanoseconds")
	add("time", "us", "microsecond", "1e-6", "µs", "μs", "microseconds")
	add("time", "ms", "millisecond", "1/1000", "milliseconds")
	add("time", "s", "second", "1", "sec", "secs", "seconds")
	add("time", "min", "minute", "60", "mins", "minutes")
	add("time", "h", "hour", "3600", "hr", "hrs", "hours")
	add("time", "d", "day", "86400", "days")
	add("time", "wk", "week", "604800", "weeks")
	add("time", "mo", "month", "2629800", "months").note = "a month is 1/12 of a Julian year (30.436875 days)"
	add("time", "yr", "year", "31557600", "years").note = "a year is a Julian year (365.25 days)"
	// speed (m/s)
	add("speed", "m/s", "metre per second", "1", "mps", "meters per second")
	add("speed", "km/h", "kilometre per hour", "1000/3600", "kph", "kmh", "km/hr", "kilometers per hour")
	add("speed", "mph", "mile per hour", "1609.344/3600", "mi/h", "miles per hour")
	add("speed", "kn", "knot", "1852/3600", "kt", "knots")
	add("speed", "ft/s", "foot per second", "0.3048", "fps", "feet per second")
	// data (bytes)
	add("data", "bit", "bit", "1/8", "bits", "b")
	add("data", "B", "byte", "1", "bytes", "octet", "octets")
	for i, p := range []string{"k", "M", "G", "T", "P", "E"} {
		pow := fmt.Sprintf("1e%d", 3*(i+1))
		bin := fmt.Sprintf("%d", int64(1)<<(10*(i+1)))
		up := strings.ToUpper(p)
		dec := add("data", p+"B", strings.ToLower(metricName(i))+"byte", pow, strings.ToLower(metricName(i))+"bytes")
		if p == "k" {
			dec.aliases = append(dec.aliases, "KB")
		}
		add("data", up+"iB", binaryName(i)+"byte", bin, binaryName(i)+"bytes")
		kbit := add("data", p+"bit", strings.ToLower(metricName(i))+"bit", pow+"/8", strings.ToLower(metricName(i))+"bits")
		if p != "k" { // "kb" is too often meant as kilobytes: it stays ambiguous
			kbit.aliases = append(kbit.aliases, p+"b")
		}
		add("data", up+"ibit", binaryName(i)+"bit", bin+"/8", up+"ib")
	}
	// data rate (bits per second)
	add("datarate", "bit/s", "bit per second", "1", "bps", "b/s")
	add("datarate", "B/s", "byte per second", "8", "Bps")
	for i, p := range []string{"k", "M", "G", "T"} {
		pow := fmt.Sprintf("1e%d", 3*(i+1))
		bin := fmt.Sprintf("%d", int64(1)<<(10*(i+1)))
		up := strings.ToUpper(p)
		add("datarate", p+"bit/s", strings.ToLower(metricName(i))+"bit per second", pow, p+"bps", p+"b/s")
		add("datarate", p+"B/s", strings.ToLower(metricName(i))+"byte per second", pow+"*8", p+"Bps")
		add("datarate", up+"iB/s", binaryName(i)+"byte per second", bin+"*8")
	}
	// pressure (Pa)
	add("pressure", "Pa", "pascal", "1", "pascals")
	add("pressure", "hPa", "hectopascal", "100", "hectopascals")
	add("pressure", "kPa", "kilopascal", "1000", "kilopascals")
	add("pressure", "MPa", "megapascal", "1e6", "megapascals")
	add("pressure", "bar", "bar", "100000", "bars")
	add("pressure", "mbar", "millibar", "100", "millibars")
	add("pressure", "atm", "standard atmosphere", "101325", "atmosphere", "atmospheres")
	add("pressure", "psi", "pound per square inch", lb+"*"+g0+"/0.00064516", "lbf/in2")
	add("pressure", "torr", "torr", "101325/760", "Torr")
	add("pressure", "mmHg", "millimetre of mercury", mmHg, "mm Hg")
	add("pressure", "inHg", "inch of mercury", "25.4*"+mmHg, "in Hg")
	// energy (J)
	add("energy", "J", "joule", "1", "joules")
	add("energy", "kJ", "kilojoule", "1000", "kilojoules")
	add("energy", "MJ", "megajoule", "1e6", "megajoules")
	add("energy", "cal", "calorie", "4.184", "calories").note = "cal is the thermochemical calorie (4.184 J)"
	add("energy", "kcal", "kilocalorie", "4184", "kilocalories", "Cal", "food calorie")
	add("energy", "Wh", "watt-hour", "3600", "watt hour", "watt hours")
	add("energy", "kWh", "kilowatt-hour", "3.6e6", "kilowatt hour", "kilowatt hours")
	add("energy", "MWh", "megawatt-hour", "3.6e9", "megawatt hour")
	add("energy", "BTU", "British thermal unit", btu, "btu", "Btu").note = "BTU is the International Table BTU (1055.05585262 J)"
	add("energy", "therm", "US therm", "105480400", "therms")
	add("energy", "eV", "electronvolt", "1.602176634e-19", "electronvolts")
	add("energy", "ft_lbf", "foot-pound", "0.3048*"+lb+"*"+g0, "ft-lbf", "ft·lbf", "foot-pound")
	add("energy", "erg", "erg", "1e-7", "ergs")
	// power (W)
	add("power", "W", "watt", "1", "watts")
	add("power", "mW", "milliwatt", "1/1000", "milliwatts")
	add("power", "kW", "kilowatt", "1000", "kilowatts")
	add("power", "MW", "megawatt", "1e6", "megawatts")
	add("power", "GW", "gigawatt", "1e9", "gigawatts")
	add("power", "hp", "mechanical horsepower", "550*0.3048*"+lb+"*"+g0, "horsepower", "bhp")
	add("power", "PS", "metric horsepower", "735.49875", "metric horsepower", "cv")
	add("power", "BTU/h", "BTU per hour", btu+"/3600", "btu/h", "BTU/hr")
	// angle (degrees)
	add("angle", "deg", "degree", "1", "°", "degrees")
	add("angle", "arcmin", "minute of arc", "1/60", "arcminute", "arcminutes")
	add("angle", "arcsec", "second of arc", "1/3600", "arcsecond", "arcseconds")
	add("angle", "grad", "gradian", "0.9", "gon", "gradians")
	add("angle", "turn", "turn", "360", "turns", "rev", "revolution", "revolutions")
	rad := add("angle", "rad", "radian", "1", "radians")
	rad.factor, rad.exact = floatRat(180/math.Pi), false
	mrad := add("angle", "mrad", "milliradian", "1", "milliradians")
	mrad.factor, mrad.exact = floatRat(0.18/math.Pi), false
	// frequency (Hz)
	add("frequency", "Hz", "hertz", "1")
	add("frequency", "kHz", "kilohertz", "1000")
	add("frequency", "MHz", "megahertz", "1e6")
	add("frequency", "GHz", "gigahertz", "1e9")
	add("frequency", "rpm", "revolution per minute", "1/60", "RPM", "r/min")
	return unitTable
}

func metricName(i int) string { return []string{"Kilo", "Mega", "Giga", "Tera", "Peta", "Exa"}[i] }

func binaryName(i int) string { return []string{"kibi", "mebi", "gibi", "tebi", "pebi", "exbi"}[i] }

// index maps exact symbols and aliases, and their folded forms, to units.
type unitIndex struct {
	exact  map[string]*unit
	folded map[string][]*unit
}

var idx *unitIndex

func index() *unitIndex {
	if idx != nil {
		return idx
	}
	idx = &unitIndex{exact: map[string]*unit{}, folded: map[string][]*unit{}}
	for _, u := range units() {
		for _, k := range append([]string{u.symbol, u.name}, u.aliases...) {
			if _, dup := idx.exact[k]; !dup {
				idx.exact[k] = u
			}
			f := fold(k)
			if !containsUnit(idx.folded[f], u) {
				idx.folded[f] = append(idx.folded[f], u)
			}
		}
	}
	// "kb" is written for kilobytes and for kilobits: make it ambiguous.
	if kbit, ok := idx.exact["kbit"]; ok {
		idx.folded["kb"] = append(idx.folded["kb"], kbit)
	}
	return idx
}

func containsUnit(us []*unit, u *unit) bool {
	for _, v := range us {
		if v == u {
			return true
		}
	}
	return false
}

// fold normalizes a unit name for forgiving lookups: lower case, no spaces,
// superscripts and ^ powers as digits, µ as u, "per" as /.
func fold(s string) string {
	if folder == nil {
		folder = strings.NewReplacer("²", "2", "³", "3", "^2", "2", "^3", "3", "µ", "u", "μ", "u", " per ", "/", "_", "", "-", "", " ", "", ".", "")
	}
	return folder.Replace(strings.ToLower(strings.TrimSpace(s)))
}

var folder *strings.Replacer

// lookupUnit finds a unit by symbol or name: exactly first (so MB and Mb
// differ), then case- and space-insensitively when that is unambiguous.
func lookupUnit(s string) (*unit, error) {
	ix := index()
	if u, ok := ix.exact[strings.TrimSpace(s)]; ok {
		return u, nil
	}
	f := fold(s)
	cands := ix.folded[f]
	if len(cands) == 0 && strings.HasSuffix(f, "s") {
		cands = ix.folded[strings.TrimSuffix(f, "s")]
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		return nil, fmt.Errorf("unknown unit %q%s (list_units lists them)", s, suggestUnits(f))
	}
	var names []string
	for _, u := range cands {
		names = append(names, fmt.Sprintf("%s (%s)", u.symbol, u.name))
	}
	return nil, fmt.Errorf("unit %q is ambiguous: write %s", s, strings.Join(names, " or "))
}

func suggestUnits(f string) string {
	if f == "" {
		return ""
	}
	seen := map[*unit]bool{}
	var out []string
	for k, us := range index().folded {
		if len(f) >= 2 && (strings.HasPrefix(k, f) || len(k) >= 3 && strings.HasPrefix(f, k)) {
			for _, u := range us {
				if !seen[u] {
					seen[u] = true
					out = append(out, u.symbol)
				}
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	sort.Strings(out)
	if len(out) > 6 {
		out = out[:6]
	}
	return "; did you mean " + strings.Join(out, ", ") + "?"
}

// convert converts v from one unit to another of the same dimension.
func convert(v *big.Rat, from, to *unit) (*big.Rat, error) {
	if from.dim != to.dim {
		return nil, fmt.Errorf("cannot convert %s (%s) to %s (%s)", from.symbol, from.dim, to.symbol, to.dim)
	}
	base := new(big.Rat).Mul(v, from.factorRat())
	if from.offset != nil {
		base.Add(base, from.offset)
	}
	if from.dim == "temperature" && base.Sign() < 0 {
		return nil, fmt.Errorf("%s %s is below absolute zero", v.FloatString(2), from.symbol)
	}
	if to.offset != nil {
		base.Sub(base, to.offset)
	}
	return base.Quo(base, to.factorRat()), nil
}
