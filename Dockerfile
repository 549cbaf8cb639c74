# syntax=docker/dockerfile:1
# The iMatch-TS image: one image for every process of the engine; the command picks which
# (`docker run imatch-ts searcher`, `... blender`, `... build-index`, ...), and settings come from
# IMATCH_* variables (core/config.ts; `docker run --rm imatch-ts <command> --help` lists them).
# compose.yaml runs the whole topology from it.
#
# Stage 1 installs every dependency from the lock file, compiles TypeScript to dist/ and drops the
# dev dependencies; stage 2 is the slim runtime with only dist/, the production node_modules and
# the CLI shim, running as the unprivileged `node` user.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin/imatch.js ./bin/imatch.js
COPY --from=build /app/infra/maven ./infra/maven
COPY --from=build /app/docker/healthcheck.js ./docker/healthcheck.js
# Mount points of compose.yaml's volumes, owned by `node` so fresh named volumes are writable.
RUN mkdir -p /data/snapshot /data/index /data/wal /data/ledger /data/state /data/reports /data/learner \
  && chown -R node:node /data
USER node
ENTRYPOINT ["node", "bin/imatch.js"]
CMD ["--help"]
