# Serves on :8080 one line: "$NAME" and what the service named $UPSTREAM answered on its :8080,
# asked again every second ("$UPSTREAM unreachable" until it answers). With $SERVE_DIR, serves
# that directory instead, writing a page born with a random id only when none is there yet: a
# database stand-in whose data shows whether its volume survived.
# The call goes by name through Docker's embedded DNS (127.0.0.11) to the task's own address:
# this machine has no IPVS, so a service's virtual IP does not route and tests use dnsrr.
/bin/busybox --install -s /bin
# PID 1 ignores a signal it has no handler for: stop at once when Swarm asks.
trap 'exit 0' TERM INT
if [ -n "$SERVE_DIR" ]; then
  mkdir -p "$SERVE_DIR"
  [ -f "$SERVE_DIR/index.html" ] || echo "$NAME born $RANDOM$RANDOM" > "$SERVE_DIR/index.html"
  exec httpd -f -p 8080 -h "$SERVE_DIR"
fi
mkdir -p /www
echo "$NAME: $UPSTREAM unreachable" > /www/index.html
httpd -p 8080 -h /www
while true; do
  ip=$(nslookup "$UPSTREAM" 127.0.0.11 2>/dev/null | awk '/^Name:/ {found = 1} found && /^Address/ {print $NF; exit}')
  answer=""
  [ -n "$ip" ] && answer=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 "$ip" 8080 | tr -d '\r' | sed '1,/^$/d')
  echo "$NAME: ${answer:-$UPSTREAM unreachable}" > /www/next.html
  mv /www/next.html /www/index.html
  sleep 1
done
