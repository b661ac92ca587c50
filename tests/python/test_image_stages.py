"""The Dockerfile's build stages, run without a container engine by
deploy/check_image_stages.py (issue 19): they resolve from exactly what each
stage copies, and the check catches the two mistakes it exists for: a builder
stage that does not copy vendor/ (the patched sqlx-core, which cargo-chef's
recipe leaves out) and a build context that carries the secrets."""

import subprocess
import sys

from citydash_stubs import ROOT

CHECK = ROOT / "deploy" / "check_image_stages.py"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def check(*args):
    return subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, cwd=ROOT)


def test_the_real_stages_resolve():
    done = check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resolve from what they copy" in done.stdout


def test_a_builder_stage_without_vendor_fails_as_a_container_build_would(tmp_path):
    text = DOCKERFILE.read_text()
    assert "COPY vendor vendor" in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace("COPY vendor vendor\n", ""))
    done = check("--dockerfile", str(broken))
    assert done.returncode != 0
    assert "vendor/sqlx-core/Cargo.toml" in done.stderr, done.stderr


def test_the_secrets_never_enter_a_stage():
    secrets = ROOT / "deploy" / "secrets"
    made = not secrets.exists()
    secrets.mkdir(exist_ok=True)
    probe = secrets / "probe-for-the-image-test"
    probe.write_text("not a real secret")
    try:
        done = check()
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        probe.unlink()
        if made:
            secrets.rmdir()
