package main

import (
	"io"
	"log"
	"log/slog"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service"
)

// setupLogging makes one handler, as o says, the destination of
// everything the process prints: slog.Default (zitadel's op and other
// libraries log there) and the standard log package (redirected at INFO),
// so with json every line on w is one JSON object. Only the process
// entry point does this; the service's parts get the logger explicitly.
// restore puts the previous defaults back (for in-process tests).
func setupLogging(w io.Writer, o config.Observe) (logger *slog.Logger, restore func()) {
	prevDefault, prevOut, prevFlags := slog.Default(), log.Writer(), log.Flags()
	h := service.NewLogHandler(w, o)
	logger = slog.New(h)
	slog.SetDefault(logger)
	log.SetOutput(slog.NewLogLogger(h, slog.LevelInfo).Writer())
	log.SetFlags(0) // the handler stamps the time
	return logger, func() {
		slog.SetDefault(prevDefault)
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	}
}
