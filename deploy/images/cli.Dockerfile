# The CLI's image for pipelines (scripts/release): the binary, the C libraries it links and the CA
# certificates. Run it with the repository mounted: docker run --rm -v "$PWD:/work" ledgerops/cli ...
FROM scratch
COPY rootfs/ /
WORKDIR /work
ENTRYPOINT ["/usr/bin/ledgerops"]
