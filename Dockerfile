# syntax=docker/dockerfile:1
#
# The Kiln service image: `kiln serve` (the default command), `kiln migrate`
# and the rest of the CLI. It carries the Go toolchain, because `kiln build`
# and the service's tool builds run `go build` (GOOS=wasip1, offline,
# GOTOOLCHAIN=local): the toolchain in the image is the one tools are
# built with.
#
#   docker build -t kiln .
#
# Runs as uid 65532 on a read-only root filesystem; the data dir
# (/var/lib/kiln: caches, and in development the generated secrets) and
# /tmp (build work directories and their GOPATH) are the only writable
# places. docs/deploy.md says how to run it.

# GO_VERSION must be at least go.mod's go line; the charttest module checks.
ARG GO_VERSION=1.26.8

# build compiles kiln on the build machine's platform, for the target's.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath
WORKDIR /src
COPY go.mod go.sum ./
COPY toolkits/go/go.mod toolkits/go/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Set by BuildKit for the platform built for (empty: the build machine's).
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/kiln ./cmd/kiln \
 && mkdir -p /out/data

# toolchain is the Go distribution for the target's platform, as the
# runtime image carries it. The compiler's own test suite and API lists are
# not needed to build tools.
FROM golang:${GO_VERSION}-bookworm AS toolchain
RUN rm -rf /usr/local/go/test /usr/local/go/api /usr/local/go/doc

# runtime: distroless, no shell, no package manager; CA certificates (for
# tools' HTTPS requests and LLM providers) and tzdata included.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=toolchain /usr/local/go /usr/local/go
COPY --from=build /out/kiln /usr/local/bin/kiln
COPY --from=build --chown=65532:65532 /out/data /var/lib/kiln
ENV PATH=/usr/local/bin:/usr/local/go/bin:/usr/bin:/bin \
    GOTOOLCHAIN=local \
    GOTELEMETRY=off \
    HOME=/tmp \
    TMPDIR=/tmp \
    GOPATH=/tmp/gopath \
    KILN_ENV=production \
    KILN_ADDR=:8080 \
    KILN_DATA_DIR=/var/lib/kiln \
    KILN_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/var/lib/kiln", "/tmp"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kiln"]
CMD ["serve"]
