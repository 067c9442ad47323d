package config

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
)

// Log formats (--log-format, KILN_LOG_FORMAT).
const (
	LogText = "text"
	LogJSON = "json"
)

// Observe are the settings of what a node tells its operators: its log, its
// metrics and its traces.
type Observe struct {
	// LogFormat is text (key=value) or json (one object per line, for a
	// collector) (--log-format, KILN_LOG_FORMAT).
	LogFormat string
	// LogLevel is debug, info, warn or error (--log-level, KILN_LOG_LEVEL);
	// per-request detail is at debug.
	LogLevel string
	// MetricsAddr, when set, serves /metrics without authentication on a
	// listener of its own, for a scraper inside the cluster
	// (--metrics-addr, KILN_METRICS_ADDR). The service address serves
	// /metrics behind the operator token either way.
	MetricsAddr string
	// TraceEndpoint, when set, is the OTLP/HTTP collector URL traces are
	// sent to (--otlp-endpoint, KILN_OTLP_ENDPOINT), for example
	// http://otel-collector:4318. Empty: no traces are made at all.
	TraceEndpoint string
	// TraceSample is the share of traces kept, 0 to 1, decided by trace ID
	// (--trace-sample, KILN_TRACE_SAMPLE). A client's sampled flag is not
	// obeyed: any client could set it.
	TraceSample float64
}

func (o *Observe) register(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&o.LogFormat, "log-format", orDefault(getenv, "KILN_LOG_FORMAT", LogText),
		"text or json: json writes one JSON object per line on stderr (env KILN_LOG_FORMAT)")
	fs.StringVar(&o.LogLevel, "log-level", orDefault(getenv, "KILN_LOG_LEVEL", "info"),
		"debug, info, warn or error; per-request detail is at debug (env KILN_LOG_LEVEL)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", getenv("KILN_METRICS_ADDR"),
		"address of a second listener serving /metrics without authentication, for a scraper inside the cluster;\nempty: /metrics only on --addr, behind the operator token (env KILN_METRICS_ADDR)")
	fs.StringVar(&o.TraceEndpoint, "otlp-endpoint", getenv("KILN_OTLP_ENDPOINT"),
		"OTLP/HTTP collector URL to send traces to, e.g. http://otel-collector:4318; empty: no tracing (env KILN_OTLP_ENDPOINT)")
	fs.Float64Var(&o.TraceSample, "trace-sample", floatOr(getenv("KILN_TRACE_SAMPLE"), 1),
		"share of traces kept, 0 to 1, decided by trace ID (a client's sampled flag is not obeyed) (env KILN_TRACE_SAMPLE)")
}

// floatOr parses an environment value, keeping a bad one visible: NaN
// fails validation with the setting's name rather than falling back.
func floatOr(v string, def float64) float64 {
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// Level parses LogLevel.
func (o *Observe) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return 0, fmt.Errorf("config: --log-level/KILN_LOG_LEVEL is %q; it must be debug, info, warn or error", o.LogLevel)
	}
	return l, nil
}

func (o *Observe) validate() []error {
	var errs []error
	if o.LogFormat != LogText && o.LogFormat != LogJSON {
		errs = append(errs, fmt.Errorf("config: --log-format/KILN_LOG_FORMAT is %q; it must be %q or %q", o.LogFormat, LogText, LogJSON))
	}
	if _, err := o.Level(); err != nil {
		errs = append(errs, err)
	}
	if o.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("config: --metrics-addr/KILN_METRICS_ADDR is %q; it must be host:port", o.MetricsAddr))
		}
	}
	if o.TraceEndpoint != "" {
		if u, err := url.Parse(o.TraceEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("config: --otlp-endpoint/KILN_OTLP_ENDPOINT is %q; it must be an http:// or https:// URL", o.TraceEndpoint))
		}
	}
	if !(o.TraceSample >= 0 && o.TraceSample <= 1) { // also refuses NaN
		errs = append(errs, fmt.Errorf("config: --trace-sample/KILN_TRACE_SAMPLE must be a number from 0 to 1"))
	}
	return errs
}
