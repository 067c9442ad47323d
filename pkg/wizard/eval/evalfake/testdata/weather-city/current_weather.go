package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	City string `json:"city" description:"City name, such as Berlin"`
}

type out struct {
	City        string  `json:"city"`
	Country     string  `json:"country"`
	Temperature float64 `json:"temperature_c"`
	WindSpeed   float64 `json:"wind_speed_kmh"`
	Time        string  `json:"time"`
}

func current(ctx context.Context, i in) (out, error) {
	city := strings.TrimSpace(i.City)
	if city == "" {
		return out{}, fmt.Errorf("city is empty; give a city name such as Berlin")
	}
	var geo struct {
		Results []struct {
			Name      string  `json:"name"`
			Country   string  `json:"country"`
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
		} `json:"results"`
	}
	q := url.Values{"name": {city}, "count": {"1"}}
	if err := kiln.GetJSON(ctx, "http://{{UPSTREAM}}/v1/search?"+q.Encode(), nil, &geo); err != nil {
		return out{}, err
	}
	if len(geo.Results) == 0 {
		return out{}, fmt.Errorf("no city called %q was found", city)
	}
	g := geo.Results[0]
	var fc struct {
		Current struct {
			Time string  `json:"time"`
			Temp float64 `json:"temperature_2m"`
			Wind float64 `json:"wind_speed_10m"`
		} `json:"current"`
	}
	u := fmt.Sprintf("http://{{UPSTREAM}}/v1/forecast?latitude=%f&longitude=%f&current=temperature_2m,wind_speed_10m", g.Latitude, g.Longitude)
	if err := kiln.GetJSON(ctx, u, nil, &fc); err != nil {
		return out{}, err
	}
	return out{City: g.Name, Country: g.Country, Temperature: fc.Current.Temp, WindSpeed: fc.Current.Wind, Time: fc.Current.Time}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools:  []kiln.Tool{kiln.NewTool("current_weather", "Current temperature and wind speed of a city", current)},
		Egress: []string{"http://{{UPSTREAM}}"},
	})
}
