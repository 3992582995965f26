# syntax=docker/dockerfile:1
# Build: a static, cgo-free binary (modernc.org/sqlite is pure Go). VERSION is stamped into it
# (keyhold version) and into the image's labels, with REVISION and CREATED:
#
#   docker build --build-arg VERSION=1.4.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t keyhold:1.4.0 .
#
# .dockerignore keeps .git, data directories, master keys and build and test leftovers out of the
# build context.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Declared here, after the slow steps, so that a new VERSION rebuilds only the binary.
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/keyhold . && mkdir -p -m 0700 /out/root/data

# Run: no shell, no package manager, a non-root user, data on a volume that only it can read:
# /data is 0700 and owned by nonroot (65532), and a new named volume starts out the same. COPY keeps
# the mode of what it copies but not of the directory named as its source, so /data is copied as
# an entry of /out/root.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/keyhold/keyhold
LABEL org.opencontainers.image.title="keyhold" \
      org.opencontainers.image.description="A self-hosted secrets portal: a web portal for people, a JSON API for code" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/keyhold /usr/local/bin/keyhold
COPY --from=build --chown=65532:65532 /out/root/ /
ENV KEYHOLD_ADDR=0.0.0.0:8080 \
    KEYHOLD_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can check it: nonroot in the base image.
USER 65532:65532
# keyhold healthcheck reads the listen address as serve does, from KEYHOLD_ADDR: to move the server,
# set KEYHOLD_ADDR rather than passing --addr to serve, which the health check does not see.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/keyhold", "healthcheck"]
# serve stops within 8 s of SIGTERM (in-flight requests get that long), inside docker stop's 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/keyhold"]
CMD ["serve"]
