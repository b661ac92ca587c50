"""There is no Docker engine here, so this runs what deploy/compose.yaml
would run, natively: each citydash service's command with the compose
file's environment (database URLs pointed at the local PostgreSQL, fixed
ports moved to free ones, secrets written to files), the migrations first,
then every service, each judged healthy by its own compose healthcheck."""

import os
import pathlib
import re
import shlex
import subprocess
import tempfile
import time
import uuid

import pytest
import yaml

from citydash_stubs import ROOT, binary, free_port, issue_token, keygen

COMPOSE = ROOT / "deploy" / "compose.yaml"
PG_ADMIN = os.environ.get("CITYDASH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(sql):
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True)


@pytest.fixture()
def compose():
    spec = yaml.safe_load(COMPOSE.read_text())
    prefix = f"smoke_{uuid.uuid4().hex[:8]}_"
    databases = re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy" / "postgres-init.sql").read_text())
    for db in databases:
        psql(f"CREATE DATABASE {prefix}{db}")
    ports = {}

    def local(text):
        text = str(text)
        text = re.sub(r"postgres://citydash@postgres:5432/(\w+)", lambda m: f"postgres://postgres@127.0.0.1:5432/{prefix}{m.group(1)}", text)
        for name in spec["services"]:
            text = text.replace(f"http://{name}:", "http://127.0.0.1:")

        def port(m):
            p = int(m.group(2))
            if p == 5432:
                return m.group(0)
            ports.setdefault(p, free_port())
            return f"{m.group(1)}{ports[p]}"

        return re.sub(r"(0\.0\.0\.0:|127\.0\.0\.1:)(\d{4,5})", port, text)

    with tempfile.TemporaryDirectory() as secrets:
        private, public = keygen(pathlib.Path(secrets))
        secret_files = {
            "token_public_key": public.read_text(),
            "service_token": issue_token(private, "citydash-services", "viewer"),
            "db_password": "unused-with-trust-auth",
        }
        for name, value in secret_files.items():
            pathlib.Path(secrets, name).write_text(value)
        env_base = dict(os.environ, PATH=f"{binary('citydash').parent}:{os.environ['PATH']}")
        env_base.pop("CITYDASH_SERVICE_TOKEN", None)

        def environment(service):
            env = dict(env_base)
            for key, value in (service.get("environment") or {}).items():
                value = str(value).replace("/run/secrets/", secrets + "/")
                env[key] = local(value)
            env.pop("CITYDASH_OTLP_ENDPOINT", None)
            return env

        yield spec, local, environment
        for db in databases:
            psql(f"DROP DATABASE IF EXISTS {prefix}{db} WITH (FORCE)")


def argv(service, local):
    entry = service.get("entrypoint")
    command = service.get("command")
    if entry:
        return [*entry, *[local(c) for c in command]]
    return ["citydash", *[local(c) for c in command]]


def healthy(service, env, local, deadline):
    check = [local(c) for c in service["healthcheck"]["test"][1:]]
    while time.time() < deadline:
        if subprocess.run(check, env=env, capture_output=True).returncode == 0:
            return True
        time.sleep(0.3)
    return False


def test_every_compose_service_comes_up_healthy_natively(compose):
    spec, local, environment = compose
    services = spec["services"]
    citydash = {n: s for n, s in services.items() if s.get("image", "").startswith("citydash")}
    assert {"migrate", "agriculture", "industry", "tourism", "welfare", "aggregator"} <= set(citydash)

    # Migrations first, to completion, as `service_completed_successfully` demands.
    migrate = subprocess.run(argv(citydash["migrate"], local), env=environment(citydash["migrate"]), capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr

    running = []
    try:
        # The sectors, then the aggregator that depends on them being healthy.
        order = [n for n in citydash if n not in ("migrate", "aggregator")] + ["aggregator"]
        for name in order:
            service = citydash[name]
            env = environment(service)
            proc = subprocess.Popen(argv(service, local), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            running.append((name, proc))
            ok = healthy(service, env, local, time.time() + 60)
            if not ok:
                proc.terminate()
                raise AssertionError(f"{name} did not become healthy: {proc.stderr.read()[-2000:]}")
            assert "depends_on" in service, name
        assert all(p.poll() is None for _, p in running), "a service exited"
        # Every limit and restart policy the issue asks for is in the file.
        for name, service in citydash.items():
            if name != "migrate":
                assert service["restart"] == "unless-stopped", name
                assert service["deploy"]["resources"]["limits"]["memory"], name
                assert "healthcheck" in service, name
        assert services["postgres"]["healthcheck"]["test"][1:3] == ["pg_isready", "-h"]
    finally:
        for _, proc in running:
            proc.terminate()
        for name, proc in running:
            assert proc.wait(timeout=20) == 0, f"{name} did not stop cleanly"
