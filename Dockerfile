# syntax=docker/dockerfile:1
# Build: a static, cgo-free binary (modernc.org/sqlite is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/keyhold . && mkdir -p /out/data

# Run: no shell, no package manager, a non-root user, data on a volume.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keyhold /usr/local/bin/keyhold
COPY --from=build --chown=65532:65532 /out/data /data
ENV KEYHOLD_ADDR=0.0.0.0:8080 \
    KEYHOLD_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/keyhold", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/keyhold"]
CMD ["serve"]
