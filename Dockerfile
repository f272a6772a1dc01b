# syntax=docker/dockerfile:1
# One image for every role: `hzz operator`, `hzz plotter` and the chunk Jobs' `hzz worker`
# (docs/helm.md). Build: docker build -t hzz-operator:0.1.0 .
#
# The base is the official Node 24 image by default. Machines that reach no image registry (this
# project's test harness) build it from packages and pass it in: scripts/build-images.sh runs
# `buildah bud --build-arg BASE_IMAGE=localhost/hzz-node:24-bookworm-slim` (docs/images.md). Any
# Debian bookworm image with node and npm in /usr/local/bin, as the official one, will do.
#
# Two stages because the build needs the dev dependencies (TypeScript), the sources and a C compiler
# (for the inflate addon, zlib-inflate/), which the running image does not. The plot's canvas
# (@napi-rs/canvas) is a prebuilt binary from npm, chosen by npm ci for this stage's platform; the
# runtime stage is the same base, so the binary fits it.
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
# Only for machines whose HTTPS goes through a TLS-inspecting proxy: the path of its CA bundle,
# mounted into the build (scripts/build-images.sh does both). Unset by default; a build argument
# never reaches the runtime stage.
ARG NODE_EXTRA_CA_CERTS
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The inflate addon's compiler and libdeflate's headers, from the base's Debian (see the runtime
# stage on versions).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libdeflate-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lock file changes, not on every edit.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The sources: .dockerignore keeps out everything that is not part of the product (tests, docs,
# the chart, host builds), so a new source folder needs no change here.
COPY . .
RUN npm run build \
 && bash zlib-inflate/build.sh \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The plot's font, a file core/plot.ts registers by path (DejaVu Sans; its italic label is Skia's
# slant of it, so the core package is enough); tar, which `kubectl cp` runs inside the container to
# copy the plot out; CA certificates for HTTPS to the data server; libdeflate's shared library, all
# the inflate addon needs at run time.
# Versions come from the pinned bookworm snapshot of the base image; pinning each Debian package
# would break the build at every Debian point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core tar ca-certificates libdeflate0 \
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
COPY --from=build /src/definitions ./definitions
# test/ and bench/ are not in the build context (.dockerignore), so dist/ holds only the product.
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/zlib-inflate.node ./build/zlib-inflate.node
# The operator's chunk Jobs run `hzz worker` (their command replaces the entrypoint), so `hzz`
# must be on PATH: the compiled CLI starts with a node shebang and only needs the exec bit.
# The check fails the build if the image would inflate with Node's zlib after all (libdeflate's
# library missing, an addon that does not load).
RUN chmod 0755 /app/dist/cli/hzz.js \
 && ln -s /app/dist/cli/hzz.js /usr/local/bin/hzz \
 && HZZ_INFLATE=libdeflate node --input-type=module -e "import('/app/dist/core/root/inflate-into.js').then((m) => console.log(m.inflateEngine().name))"
USER 10001:10001
ENTRYPOINT ["node", "/app/dist/cli/hzz.js"]
CMD ["--help"]
