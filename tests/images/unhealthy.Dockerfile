# A broken release that keeps running but never passes its healthcheck, for rollback tests.
FROM scratch
COPY busybox /bin/busybox
COPY www /www
ENTRYPOINT ["/bin/busybox"]
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
HEALTHCHECK --interval=2s --timeout=2s --retries=2 CMD ["/bin/busybox", "false"]
