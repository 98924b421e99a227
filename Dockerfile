# Production image: `docker build -t yjs-collab-server .` (or `docker compose up` with docker-compose.yml).
FROM node:24-bookworm-slim

WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false

# Dependencies first, so source edits do not reinstall them. The `node` package is a dependency
# (it pins the Node 24 that CMD runs); its preinstall script, approved in package.json
# `allowScripts`, fetches the matching Node binary from the npm registry during this step.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Sources run as-is: Node 24 strips the TypeScript types (no build step).
COPY server ./server
COPY shared ./shared
COPY migrations ./migrations
COPY web ./web
# The web app's bundle, built now (as root, into node_modules/.cache) so the server, which may not
# write there, serves it from the first request; a source change would make it build its own copy.
RUN node --input-type=module -e "await (await import('./server/web/bundle.ts')).buildWebApp()"

# DATA_DIR (./data) holds the local auth secret and, without DATABASE_URL, the SQLite file.
# Created here and owned by `node` so a fresh named volume mounted on it is writable too.
RUN mkdir -p /app/data && chown node:node /app/data

ENV NODE_ENV=production HOST=0.0.0.0 PORT=1234
USER node
EXPOSE 1234

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 1234) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# What `npm start` runs, but started directly so that `docker stop`'s SIGTERM reaches the server:
# through `npm start` it stops npm and its `sh -c`, while node, orphaned, never sees the signal and
# is killed without flushing. On SIGTERM the server flushes every open document first
# (SHUTDOWN_TIMEOUT_MS, 30 s by default): give `docker stop` that long (stop_grace_period in compose).
# node_modules/.bin/node is the Node 24 pinned by the `node` package, the one the tests run on.
CMD ["/app/node_modules/.bin/node", "server/main.ts"]
