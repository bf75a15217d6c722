# The node's image (scripts/release): the binary, the C libraries it links (glibc's, copied from the
# build machine) and the CA certificates an https RPC needs. Nothing else: no shell, no package manager.
FROM scratch
COPY rootfs/ /
ENV LEDGEROPS_DATA_DIR=/var/lib/ledgerops-node \
    LEDGEROPS_LISTEN=0.0.0.0:9470
ENTRYPOINT ["/usr/bin/ledgerops-node"]
