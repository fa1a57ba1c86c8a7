# httpmq's container image: a static binary on distroless, run as a
# non-root user. Build from the repository's root:
#
#   docker build -t httpmq --build-arg VERSION="$(git describe --tags --always --dirty)" .
#   docker run --rm -p 127.0.0.1:3000:3000 -p 127.0.0.1:3001:3001 httpmq serve --insecure-listen
#
# The listeners are on all of the container's interfaces (:3000, :3001),
# which httpmq allows only with authentication (--api-key, --auth-jwt-*)
# or --insecure-listen. Embedded JetStream keeps its data in the /data
# volume; with --nats-url nothing is stored. docs/operations.md has more.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is reused while the go.mod and go.sum files do
# not change. The wire protocol and the Go SDK are modules of their own
# that go.mod replaces with their directories.
COPY go.mod go.sum ./
COPY protocol/go.mod protocol/go.sum protocol/
COPY clients/go/go.mod clients/go/go.sum clients/go/
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/httpmq ./cmd/httpmq \
    && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/httpmq /usr/local/bin/httpmq
COPY --from=build --chown=65532:65532 /out/data /data
# distroless's "nonroot" user (65532).
USER 65532:65532
WORKDIR /data
ENV HTTPMQ_MANAGEMENT_ADDR=:3000 \
    HTTPMQ_DATAPLANE_ADDR=:3001 \
    HTTPMQ_DATA_DIR=/data \
    HTTPMQ_LOG_JSON=true
EXPOSE 3000 3001
VOLUME ["/data"]
# The image has no shell or curl: httpmq asks its own readiness probe.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/httpmq", "ready", "--admin-url", "http://127.0.0.1:3000"]
ENTRYPOINT ["/usr/local/bin/httpmq"]
CMD ["serve"]
