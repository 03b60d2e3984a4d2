# syntax=docker/dockerfile:1
# rubato's image: a drop-in for grafana/tempo's (same ports, same /var/tempo volume, same
# `-config.file=` argument), running as a non-root user on a read-only root filesystem.
# Debian slim rather than alpine: DuckDB's npm package ships a glibc binary.

# ---- build: compile the TypeScript server (dev dependencies stay in this stage)
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:server
# The web UI, served by the API port from dist/webui.
COPY ui ./ui
RUN npm run build:ui

# ---- runtime: production dependencies and the compiled server only
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && groupadd --system --gid 10001 rubato \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/tempo --shell /usr/sbin/nologin rubato \
    && mkdir -p /var/tempo /etc/rubato \
    && chown 10001:10001 /var/tempo
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/webui ./dist/webui
COPY deploy/docker/rubato.yaml /etc/rubato/rubato.yaml

# Everything rubato writes goes to /var/tempo (WAL, blocks) or /tmp (DuckDB spill, block building).
VOLUME /var/tempo
# 3100 HTTP API and /metrics, 4317 OTLP gRPC, 4318 OTLP HTTP
EXPOSE 3100 4317 4318
USER 10001:10001

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:3100/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Like Tempo's image: arguments are flags (`-config.file=/conf/tempo.yaml`); with none, the built-in
# config above is used.
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/src/main.js"]
CMD ["-config.file=/etc/rubato/rubato.yaml"]
