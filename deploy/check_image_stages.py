#!/usr/bin/env python3
"""Runs the Dockerfile's build stages the way a container build runs them, without a
container engine: each stage in a scratch folder of its own that holds only what the
stage's COPY lines put there (the build context filtered by .dockerignore, or another
stage's files), and each stage's `cargo chef` and `cargo build` steps run in it.

This catches what a build on the developer's checkout cannot: a file the workspace
needs that a stage does not copy (the `[patch.crates-io]` crate in vendor/, which is
outside the workspace and so not in cargo-chef's recipe). `cargo chef cook` writes
the skeleton and cargo resolves it (`--no-build`, then `cargo metadata --locked`);
`cargo build` resolves the full copy and checks that every `-p` package exists.
Compiling is left to CI's own build of the same workspace.

    python3 deploy/check_image_stages.py [--dockerfile deploy/Dockerfile] [--cargo-chef PATH]
"""

import argparse
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ignore_patterns(root: Path):
    """The .dockerignore rules, in order: (pattern, excluded?)."""
    rules = []
    path = root / ".dockerignore"
    if not path.exists():
        return rules
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line[1:] if keep else line
        rules.append((pattern.strip("/"), not keep))
    return rules


def matches(pattern: str, rel: str) -> bool:
    """Whether a .dockerignore pattern matches `rel` or one of its parent folders
    (Docker matches from the context's root; `**` spans folders)."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if fnmatch.fnmatchcase(prefix, pattern) or (
            "**" in pattern and fnmatch.fnmatchcase(prefix, pattern.replace("**/", "*").replace("/**", "*"))
        ):
            return True
    return False


def excluded(rules, rel: str) -> bool:
    out = False
    for pattern, exclude in rules:
        if matches(pattern, rel):
            out = exclude
    return out


def copy_context(root: Path, source: str, dest: Path, rules):
    """`COPY <source> <dest>` from the build context."""
    base = (root / source).resolve()
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = [d for d in dirnames if not excluded(rules, f"{rel_dir}/{d}".lstrip("/"))]
        for name in filenames:
            rel = f"{rel_dir}/{name}".lstrip("/")
            if excluded(rules, rel):
                continue
            target = dest / Path(dirpath).relative_to(base) / name if base.is_dir() else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(dirpath) / name, target)
    if base.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(base, dest)


# What the build context must never carry into a stage.
NEVER_COPIED = ["deploy/secrets", ".git", "target", "data", "dashboard/node_modules"]


def assert_clean(folder: Path, stage: str):
    for rel in NEVER_COPIED:
        if (folder / rel).exists():
            raise SystemExit(f"stage {stage}: the build context carries {rel} (add it to .dockerignore)")


def stages(dockerfile: Path):
    """The stages: name → (base stage or image, instructions)."""
    out, current = {}, None
    text = dockerfile.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
            current = name
            out[name] = (parts[0], [])
        elif current is not None:
            out[current][1].append((word.upper(), rest.strip()))
    return out


def run(cmd, cwd: Path, env):
    print(f"    $ {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"the step failed in {cwd}: {' '.join(cmd)}")
    return done.stdout


def check(dockerfile: Path, chef: str, scratch: Path) -> None:
    rules = ignore_patterns(ROOT)
    all_stages = stages(dockerfile)
    dirs, workdirs = {}, {}
    env = dict(os.environ, CARGO_TARGET_DIR=str(scratch / "target"))
    env["PATH"] = f"{Path(chef).parent}:{env['PATH']}"
    for name, (base, steps) in all_stages.items():
        folder = scratch / name
        if base in dirs:
            shutil.copytree(dirs[base], folder, dirs_exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        dirs[name] = folder
        workdir = workdirs.get(base, "/")
        workdirs[name] = workdir
        print(f"==> stage {name}", flush=True)
        for word, rest in steps:
            if word == "WORKDIR":
                workdir = rest
                workdirs[name] = rest
            elif word == "COPY":
                args = shlex.split(rest)
                origin = next((a.split("=", 1)[1] for a in args if a.startswith("--from=")), None)
                paths = [a for a in args if not a.startswith("--")]
                *sources, dest = paths
                if workdir != "/src" and origin is None:
                    continue  # the runtime stage copies built binaries, not sources
                for source in sources:
                    if origin is None:
                        target = folder if dest in (".", "./") else folder / dest
                        print(f"    COPY {source} {dest}", flush=True)
                        copy_context(ROOT, source, target, rules)
                        assert_clean(folder, name)
                    elif source.startswith("/src/target/"):
                        print(f"    COPY --from={origin} {source}: a build output, not made here", flush=True)
                    elif origin in dirs and source.startswith("/src/"):
                        rel = source[len("/src/"):]
                        print(f"    COPY --from={origin} {source} {dest}", flush=True)
                        src = dirs[origin] / rel
                        if not src.exists():
                            raise SystemExit(f"stage {name}: {source} is not in stage {origin}")
                        target = folder / dest
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(src, target)
            elif word == "RUN" and workdir == "/src":
                cmd = shlex.split(rest)
                if cmd[:3] == ["cargo", "chef", "prepare"]:
                    run([chef, "chef", *cmd[2:]], folder, env)
                elif cmd[:3] == ["cargo", "chef", "cook"]:
                    run([chef, "chef", *cmd[2:], "--no-build"], folder, env)
                    run(["cargo", "metadata", "--locked", "--format-version", "1"], folder, env)
                elif cmd[:2] == ["cargo", "build"]:
                    meta = json.loads(run(["cargo", "metadata", "--locked", "--no-deps", "--format-version", "1"], folder, env))
                    members = {p["name"] for p in meta["packages"]}
                    wanted = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-p"]
                    missing = [p for p in wanted if p not in members]
                    if missing:
                        raise SystemExit(f"stage {name}: cargo build names packages the copy lacks: {missing}")
                    print(f"    the copy has every package the build names: {', '.join(wanted)}", flush=True)
    print("the Dockerfile's build stages resolve from what they copy", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", default=str(ROOT / "deploy" / "Dockerfile"))
    parser.add_argument("--cargo-chef", default=str(ROOT / "target" / "tools" / "bin" / "cargo-chef"))
    args = parser.parse_args()
    if not Path(args.cargo_chef).exists():
        raise SystemExit(f"cargo-chef is not at {args.cargo_chef}: cargo install cargo-chef --locked --root target/tools")
    with tempfile.TemporaryDirectory(dir=ROOT / "target", prefix="image-stages-") as scratch:
        check(Path(args.dockerfile), args.cargo_chef, Path(scratch))


if __name__ == "__main__":
    main()
