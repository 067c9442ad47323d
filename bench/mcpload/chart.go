package mcpload

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart renders results as an SVG bar chart for the README: per row, its
// p50 latency and its calls per second with several clients, each as a
// ratio to the row's baseline, on a logarithmic axis (the rows span from
// about 1× to about 100×). The dashed lines are the targets of issue 18:
// p50 at most 1.25× the baseline, calls/s at least 0.8×. Baseline rows are
// left out: they are 1× by definition.
func Chart(title string, results []Result) []byte {
	type bar struct {
		name       string
		p50, calls float64
	}
	var bars []bar
	for i, r := range results {
		if r.Base == i {
			continue
		}
		base := results[r.Base]
		bars = append(bars, bar{r.Name, float64(r.P50) / float64(base.P50), r.CPSN / base.CPSN})
	}
	const (
		labelW, plotW, rowH, top = 330, 420, 34, 56
		lo, hi                   = 0.05, 200.0 // the axis, as ratios
	)
	width, height := labelW+plotW+30, top+rowH*len(bars)+40
	x := func(v float64) float64 {
		v = min(max(v, lo), hi)
		return labelW + plotW*math.Log(v/lo)/math.Log(hi/lo)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&sb, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	fmt.Fprintf(&sb, `<rect x="10" y="30" width="10" height="10" fill="#c0392b"/><text x="24" y="39">p50 latency / baseline (lower is better)</text>`+
		`<rect x="290" y="30" width="10" height="10" fill="#2e86c1"/><text x="304" y="39">calls/s, several clients / baseline (higher is better)</text>`+"\n")
	axisY := top + rowH*len(bars)
	for _, t := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100} {
		fmt.Fprintf(&sb, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%g×</text>`+"\n",
			x(t), top-6, x(t), axisY, x(t), axisY+16, t)
	}
	for _, target := range []struct {
		v     float64
		color string
	}{{1.25, "#c0392b"}, {0.8, "#2e86c1"}} {
		fmt.Fprintf(&sb, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="4 3"/>`+"\n", x(target.v), top-6, x(target.v), axisY, target.color)
	}
	for i, b := range bars {
		y := top + rowH*i
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+19, html.EscapeString(b.name))
		for j, v := range []float64{b.p50, b.calls} {
			color := []string{"#c0392b", "#2e86c1"}[j]
			by := y + 4 + 13*j
			fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="11" fill="%s"/><text x="%.1f" y="%d" font-size="10">%.2f×</text>`+"\n",
				labelW, by, max(x(v)-labelW, 1), color, x(v)+4, by+10, v)
		}
	}
	sb.WriteString("</svg>\n")
	return []byte(sb.String())
}
