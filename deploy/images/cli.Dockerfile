# The CLI's image for pipelines (scripts/release): the binary, the C libraries it links and the CA
# certificates. Run it with the repository mounted: docker run --rm -v "$PWD:/work" ledgerops/cli ...
FROM scratch
COPY rootfs/ /
WORKDIR /work
# Not root: the CLI reads the workspace and talks to the RPC and registries, nothing more. The
# files it reads (stack files, key files) must be readable by this user, or run with --user.
USER 65532:65532
ENTRYPOINT ["/usr/bin/ledgerops"]
