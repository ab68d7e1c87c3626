# Operator image: build with `docker build -t hdh-operator .`
FROM docker.io/library/node:24-bookworm-slim AS build
WORKDIR /app
# The PKCS#11 binding is a native addon.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM docker.io/library/node:24-bookworm-slim
# The HSM vendor's PKCS#11 module is mounted at the path the hub's spec.encryption.pkcs11.module names.
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY crds ./crds
# `hdh-operator` on PATH: the datastore's init container runs `hdh-operator unwrap-dek`.
RUN chmod +x /app/dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/hdh-operator
USER 65532:65532
ENTRYPOINT ["hdh-operator"]
CMD ["run"]
