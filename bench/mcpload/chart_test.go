package mcpload

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// TestChart: the chart is well-formed SVG with one pair of bars per
// non-baseline row, each labelled with its ratio, and names are escaped.
func TestChart(t *testing.T) {
	results := []Result{
		{Name: "native", Base: 0, P50: time.Millisecond, CPSN: 1000},
		{Name: "kiln <restore>", Base: 0, P50: 3 * time.Millisecond, CPSN: 250},
		{Name: "other base", Base: 2, P50: 2 * time.Millisecond, CPSN: 500},
		{Name: "huge", Base: 2, P50: time.Second, CPSN: 1},
	}
	svg := string(Chart("a & b", results))
	if err := xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	for _, want := range []string{"kiln &lt;restore&gt;", "3.00×", "0.25×", "huge", "500.00×", "0.00×", "a &amp; b"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, ">native<") || strings.Contains(svg, ">other base<") {
		t.Error("a baseline row has bars")
	}
}
