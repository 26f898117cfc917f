# Loupe: API, dashboard and job workers in one image (multi-stage, runs as the unprivileged `node` user).
#   docker build -t loupe .
#   docker run -p 8000:8000 -v loupe-data:/data loupe                 # embedded database, one process
#   docker run -e DATABASE_URL=postgres://... loupe serve --no-worker # API only
#   docker run -e DATABASE_URL=postgres://... loupe worker            # job workers (and the scheduler) only
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The dashboard and the SDK bundles are built once here (the `prestart` step), then dev dependencies go.
RUN node scripts/build-dashboard.mjs --force && node sdk/build.mjs && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOUPE_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/loupe.mjs"]
CMD ["serve"]
