#!/usr/bin/env bash
# Assembles the Dockerfile's runtime stage without a container engine and
# starts it with runc: a Debian bookworm root file system made by debootstrap
# from Debian's packages (the base image cannot be pulled here), with what the
# stage adds (ca-certificates, the non-root user 10001, the six binaries in
# /usr/local/bin, the working directory, CITYDASH_LOG_FORMAT=json), as an OCI
# bundle; then the container's own `citydash health` must answer, the
# dashboard must serve, the process must run as the citydash user, and Ctrl-C
# (SIGINT) must stop it.
#
# Podman cannot start it here: it always writes RLIMIT_NOFILE and RLIMIT_NPROC
# into the container's spec, and setting RLIMIT_NPROC in the container's init
# is refused on our machines (`setrlimit RLIMIT_NPROC: Operation not
# permitted`, with runc and crun alike); runc with a spec that sets no rlimits
# starts it.
#
#   deploy/run_runtime_image.sh [BINARIES_DIR]    (default target/debug)
# Needs debootstrap and runc (Debian packages), and root.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${1:-target/debug}"
work="$PWD/target/runtime-image"
rootfs="$work/rootfs"
name="citydash-runtime-check-$$"

if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
  rm -rf "$rootfs"
  mkdir -p "$work"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log"; exit 1; }
fi
# What the runtime stage adds, as its RUN, COPY, USER, WORKDIR and ENV lines say.
grep -q '^citydash:' "$rootfs/etc/passwd" \
  || chroot "$rootfs" useradd --system --uid 10001 --home-dir /var/lib/citydash --create-home citydash 2>/dev/null
for b in citydash citydash-agriculture citydash-industry citydash-tourism citydash-welfare citydash-aggregator; do
  install -m 0755 "$bin_dir/$b" "$rootfs/usr/local/bin/$b"
done
grep -q 'COPY --from=builder /src/target/release/citydash ' deploy/Dockerfile
grep -q '^USER citydash' deploy/Dockerfile
grep -q '^WORKDIR /var/lib/citydash' deploy/Dockerfile
rm -rf "$rootfs/var/lib/citydash/data"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(free_port)
http=$(free_port)
bundle="$work/bundle"
rm -rf "$bundle"
mkdir -p "$bundle"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" "$rootfs" "$grpc" "$http" <<'EOF'
import json, sys
path, rootfs, grpc, http = sys.argv[1:]
c = json.load(open(path))
p = c["process"]
# The image's ENTRYPOINT and CMD, on free ports of the host's network.
p["args"] = ["citydash", "demo", "--host", "127.0.0.1", "--grpc-port", grpc, "--http-port", http]
p["terminal"] = False
p.pop("rlimits", None)
uid = gid = None
for line in open(f"{rootfs}/etc/passwd"):
    f = line.split(":")
    if f[0] == "citydash":
        uid, gid = int(f[2]), int(f[3])
p["user"] = {"uid": uid, "gid": gid}
p["cwd"] = "/var/lib/citydash"
p["env"] = [e for e in p.get("env", []) if not e.startswith("HOME=")] + [
    "HOME=/var/lib/citydash",
    "CITYDASH_LOG_FORMAT=json",
]
c["root"] = {"path": rootfs, "readonly": False}
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] not in ("network", "user")]
json.dump(c, open(path, "w"), indent=1)
EOF

cleanup() { runc delete -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
(cd "$bundle" && runc run -d "$name" >"$work/run.log" 2>&1) || { cat "$work/run.log"; exit 1; }
ok=""
for _ in $(seq 60); do
  if runc exec "$name" citydash health --url "http://127.0.0.1:$grpc" >/dev/null 2>&1; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { echo "the container's health check never answered"; runc list; exit 1; }
echo "health check answered inside the container (gRPC health, port $grpc)"
[ "$(runc exec "$name" id -u)" = "10001" ] || { echo "the container does not run as the citydash user"; exit 1; }
code=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$http/').status)")
[ "$code" = "200" ] || { echo "the dashboard answered $code"; exit 1; }
echo "the dashboard answered 200, the process runs as uid 10001"
runc kill "$name" INT
for _ in $(seq 30); do
  state=$(runc state "$name" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' || echo gone)
  [ "$state" = "stopped" ] && break
  sleep 1
done
[ "$state" = "stopped" ] || { echo "the container did not stop on SIGINT ($state)"; runc ps "$name"; tail -n 5 "$work/run.log"; exit 1; }
echo "the runtime image started, answered its health check and stopped on SIGINT"
