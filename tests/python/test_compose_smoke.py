"""There is no Docker engine here, so this runs what deploy/compose.yaml
would run, natively: each citydash service's command with the compose
file's environment (database URLs pointed at the local PostgreSQL, fixed
ports moved to free ones, secrets written to files), the migrations first,
then every service, each judged healthy by its own compose healthcheck."""

import os
import pathlib
import re
import shlex
import ssl
import subprocess
import tempfile
import time
import urllib.request
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

        yield spec, local, environment, ports
        for db in databases:
            psql(f"DROP DATABASE IF EXISTS {prefix}{db} WITH (FORCE)")


ENTRY_PORTS = {}
ENTRY_CA = []


def env_base_for_tls():
    return dict(os.environ, PATH=f"{binary('citydash').parent}:{os.environ['PATH']}", RUST_BACKTRACE="0")


def wait_ok(command, env, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if subprocess.run(command, env=env, capture_output=True).returncode == 0:
            return True
        time.sleep(0.3)
    return False


def start_entry(ports):
    """Caddy on deploy/Caddyfile with a test CA's certificate, its ports
    free ones and its upstreams the natively running services."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="citydash-entry-"))
    ssl_run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=folder)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl_run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=citydash test CA", "-keyout", "ca.key", "-out", "ca.pem")
    ssl_run("req", *ec, "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "leaf.csr")
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    ssl_run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "cert.pem")
    ENTRY_CA[:] = [folder / "ca.pem"]
    names = {443: "WEB", 50060: "AGGREGATOR", 50061: "AGRICULTURE", 50062: "INDUSTRY", 50063: "TOURISM", 50064: "WELFARE"}
    upstream = {443: 8080, 50060: 50060, 50061: 50061, 50062: 50062, 50063: 50063, 50064: 50064}
    env = dict(os.environ, TLS_CERT=str(folder / "cert.pem"), TLS_KEY=str(folder / "key.pem"), XDG_CONFIG_HOME=str(folder), XDG_DATA_HOME=str(folder))
    for port, name in names.items():
        ENTRY_PORTS[port] = free_port()
        env[f"PORT_{name}"] = str(ENTRY_PORTS[port])
        env[f"UPSTREAM_{name}"] = f"127.0.0.1:{ports[upstream[port]]}"
    caddyfile = ROOT / "deploy" / "Caddyfile"
    return subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def argv(service, local):
    entry = service.get("entrypoint")
    command = service.get("command")
    if entry:
        return [*entry, *[local(c) for c in command]]
    return ["citydash", *[local(c) for c in command]]


def healthy(service, env, local, deadline):
    check = [local(c) for c in service["healthcheck"]["test"][1:]]
    return wait_ok(check, env, deadline - time.time())


def test_every_compose_service_comes_up_healthy_natively(compose):
    spec, local, environment, ports = compose
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
        # The one TLS entry, run natively: every service answers through it.
        entry = services["entry"]
        assert set(entry["secrets"]) == {"tls_cert", "tls_key"}
        published = {int(p.split(":")[0]) for p in entry["ports"]}
        assert published == {443, 50060, 50061, 50062, 50063, 50064}
        for name, service in citydash.items():
            assert "ports" not in service, f"{name} is published outside the TLS entry"
        running.append(("entry", start_entry(ports)))
        ca = ENTRY_CA[0]
        for service_port in (50060, 50061, 50062, 50063, 50064):
            url = f"https://localhost:{ENTRY_PORTS[service_port]}"
            env = dict(env_base_for_tls(), CITYDASH_TLS_CA=str(ca))
            assert wait_ok(["citydash", "health", "--url", url], env), f"{url} through the TLS entry"
        context = ssl.create_default_context(cafile=str(ca))
        page = urllib.request.urlopen(f"https://localhost:{ENTRY_PORTS[443]}/", context=context, timeout=10)
        assert page.status == 200 and b"<html" in page.read().lower()
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
            code = proc.wait(timeout=20)
            # Caddy ends on SIGTERM with 1 ("shutting down"), the services with 0.
            assert code == 0 or name == "entry", f"{name} did not stop cleanly"
