# A broken release that exits soon after it starts: Swarm's update fails, for rollback tests.
FROM scratch
COPY busybox /bin/busybox
ENTRYPOINT ["/bin/busybox"]
CMD ["sh", "-c", "sleep 1; exit 3"]
