# Operator image: `docker build -t <registry>/hdh-operator:<version> .`
# The base is pinned by version and by the digest of its multi-platform index, so a rebuild
# gets the same Node and Debian until this line is changed on purpose.
ARG NODE_IMAGE=docker.io/library/node:24.18.1-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7
# The version of package.json (a unit test holds them equal); set by the release build.
ARG VERSION=0.1.0

# What the PKCS#11 binding (a native addon) needs to compile.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# The addon compiles against the headers this Node ships in /usr/local/include/node, never
# against headers downloaded at build time.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependency set only: no compiler, test or lint tooling in the image.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="hdh-operator" \
  org.opencontainers.image.description="Kubernetes operator that keeps health-data platforms sovereign: EU placement, per-hub key custody and encrypted in-region storage." \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.revision="${REVISION}" \
  org.opencontainers.image.created="${CREATED}" \
  org.opencontainers.image.licenses="Apache-2.0" \
  org.opencontainers.image.base.name="${NODE_IMAGE}"
WORKDIR /app
ENV NODE_ENV=production
# A young generation of 2 MiB semi-spaces instead of 16: the operator allocates in bursts (lists,
# watch events) and V8 keeps the young generation at its peak. At 300 hubs (docs/performance.md)
# the highest resident memory while converging fell from 277 to 165 MiB, convergence unchanged;
# the collector runs more often (about 10 % of the operator's CPU time while 1000 hubs converge).
ENV NODE_OPTIONS="--max-semi-space-size=2"
# Two malloc arenas instead of eight per core: memory freed by other threads (TLS, V8's helpers)
# is reused rather than left in their arenas.
ENV MALLOC_ARENA_MAX=2
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# `hdh-operator` on PATH: the datastore's init container runs `hdh-operator unwrap-dek`.
RUN chmod +x /app/dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/hdh-operator
# The HSM vendor's PKCS#11 module is mounted at the path the hub's spec.encryption.pkcs11.module names.
USER 65532:65532
ENTRYPOINT ["hdh-operator"]
CMD ["run"]
