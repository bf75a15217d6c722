# Calls another service by name and serves what it answered: the proof that services of a stack
# reach each other over their networks. See relay.sh.
FROM scratch
COPY busybox /bin/busybox
COPY relay.sh /relay.sh
ENTRYPOINT ["/bin/busybox", "sh", "/relay.sh"]
HEALTHCHECK --interval=2s --timeout=2s --retries=2 CMD ["/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
