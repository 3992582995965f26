# syntax=docker/dockerfile:1
# Build: a static, cgo-free binary (modernc.org/sqlite is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/keyhold . && mkdir -p -m 0700 /out/root/data

# Run: no shell, no package manager, a non-root user, data on a volume that only it can read:
# /data is 0700 and owned by nonroot (65532), and a new named volume starts out the same. COPY keeps
# the mode of what it copies but not of the directory named as its source, so /data is copied as
# an entry of /out/root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keyhold /usr/local/bin/keyhold
COPY --from=build --chown=65532:65532 /out/root/ /
ENV KEYHOLD_ADDR=0.0.0.0:8080 \
    KEYHOLD_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/keyhold", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/keyhold"]
CMD ["serve"]
