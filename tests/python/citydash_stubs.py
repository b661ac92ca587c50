"""Shared test helpers: Python stubs generated from proto/ at test time, the
path of the built binaries, free ports, and money formatted as the meeting
papers write it (the same rule as the Rust and TypeScript code)."""

import os
import pathlib
import socket
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def generate(out):
    """Compiles proto/ into `out` with grpcio-tools and makes it importable."""
    from grpc_tools import protoc

    protos = [str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto")]
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(
        ["protoc", f"-I{ROOT / 'proto'}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *protos]
    )
    assert rc == 0, "protoc failed"
    sys.path.insert(0, str(out))


def binary(name):
    path = pathlib.Path(os.environ.get("CITYDASH_BIN_DIR", ROOT / "target" / "debug")) / name
    assert path.exists(), f"build the workspace first: {path}"
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_run(count):
    """A base port with `count` free consecutive ports."""
    for _ in range(200):
        base = free_port()
        if base + count > 65000:
            continue
        try:
            socks = []
            for p in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            for s in socks:
                s.close()
            return base
        except OSError:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


def money_zh(yuan):
    """亿元 from one hundred million up, else 万元, two decimals, half away from zero."""
    scale = 8 if abs(yuan) >= 100_000_000 else 4
    divisor = 10 ** (scale - 2)
    rounded = (abs(yuan) * 2 + divisor) // (2 * divisor)
    sign = "-" if yuan < 0 and rounded else ""
    text = f"{sign}{rounded // 100}.{rounded % 100:02d}"
    return text + ("亿元" if scale == 8 else "万元")


def session_keys():
    """One key pair for this test run, made on first use: (private, public) files."""
    global _KEYS
    if _KEYS is None:
        import pathlib
        import tempfile

        _KEYS = keygen(pathlib.Path(tempfile.mkdtemp(prefix="citydash-keys-")))
    return _KEYS


_KEYS = None


def keygen(folder):
    """The key pair from `citydash token keygen`: (private key file, public key file)."""
    import subprocess

    subprocess.run([str(binary("citydash")), "token", "keygen", "--out-dir", str(folder)], check=True, timeout=30, capture_output=True)
    return folder / "token-signing.pem", folder / "token-verifying.pem"


def issue_token(key_file, subject, role, *sectors):
    """A token from `citydash token issue`, as an operator would make one."""
    import subprocess

    args = [str(binary("citydash")), "token", "issue", "--signing-key-file", str(key_file), "--subject", subject, "--role", role]
    for s in sectors:
        args += ["--sector", s]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()
