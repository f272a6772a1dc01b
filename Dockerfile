# syntax=docker/dockerfile:1
# One image for every role: `hzz operator`, `hzz plotter` and the chunk Jobs' `hzz worker`
# (docs/helm.md). Build: docker build -t hzz-operator:0.1.0 .
#
# Two stages because node-canvas compiles against cairo/pango headers and a C++ toolchain that the
# running image does not need: the build stage has them, the runtime stage gets only the shared
# libraries the compiled addon links to.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Versions come from the pinned bookworm snapshot of the base image; pinning each Debian package
# would break the build at every Debian point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lock file changes, not on every edit.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The sources: .dockerignore keeps out everything that is not part of the product (tests, docs,
# the chart, host builds), so a new source folder needs no change here.
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The shared libraries node-canvas links to, a font for the plot's labels (without one cairo draws
# empty boxes), and tar, which `kubectl cp` runs inside the container to copy the plot out.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libjpeg62-turbo libgif7 librsvg2-2 \
      fonts-dejavu-core tar ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed UID/GID (not the base image's "node", 1000) so that the chart's runAsUser, the PVCs' file
# owners and this image agree; 10001 is outside the range distributions give to real users.
RUN groupadd --system --gid 10001 hzz \
 && useradd --system --uid 10001 --gid hzz --home-dir /home/hzz --create-home --shell /usr/sbin/nologin hzz
WORKDIR /app
ENV NODE_ENV=production
# Owned by root and not writable by hzz: the app cannot modify itself even where the root
# filesystem is not mounted read-only.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/catalogues ./catalogues
# test/ and bench/ are not in the build context (.dockerignore), so dist/ holds only the product.
COPY --from=build /src/dist ./dist
# The operator's chunk Jobs run `hzz worker` (their command replaces the entrypoint), so `hzz`
# must be on PATH: the compiled CLI starts with a node shebang and only needs the exec bit.
RUN chmod 0755 /app/dist/cli/hzz.js \
 && ln -s /app/dist/cli/hzz.js /usr/local/bin/hzz
USER 10001:10001
ENTRYPOINT ["node", "/app/dist/cli/hzz.js"]
CMD ["--help"]
