"""Remote and local models that cannot hurt the host: a local HTTP server that answers with endless,
oversized, dripping, mislabelled or redirected bodies, and a folder of symlinks leading out."""
import gzip
import http.server
import os
import re
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.errors import UnsafePathError, WeightsError
from engine.io import Limits, load_model_json, read_weight_arrays, remote
from engine.io.limits import _seconds_from_env

SMALL_CNN = Path(__file__).parent / "fixtures" / "small_cnn"
MODEL_JSON = (SMALL_CNN / "model.json").read_bytes()
SHARD = (SMALL_CNN / "group1-shard1of1.bin").read_bytes()  # its group needs exactly these bytes
SHARD_PATH = "/m/group1-shard1of1.bin"
ENDLESS_CAP = 64 * 1024 ** 2  # where the "endless" body gives up, far past any bound the loader may keep


class _Server:
    """A local HTTP server; each test sets what a path answers (`routes`, a function of the handler).
    It records the paths asked for and counts the body bytes it manages to send."""

    def __init__(self):
        self.routes = {"/m/model.json": _serve(MODEL_JSON), SHARD_PATH: _serve(SHARD)}
        self.requests: list[str] = []
        self.sent = 0
        self.done = threading.Event()  # set when an answer has ended, one way or another
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5  # a client that stops reading cannot block the server's thread for long

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                owner.requests.append(path)
                try:
                    owner.routes.get(path, _not_found)(self, owner)
                except OSError:  # the client hung up: what hostile answers expect
                    pass
                finally:
                    owner.done.set()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _head(handler, status=200, headers=()):
    handler.send_response_only(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()


def _send(handler, owner, data):
    handler.wfile.write(data)
    owner.sent += len(data)


def _serve(data, length=None, headers=()):
    """`data` as the body; Content-Length is its size unless `length` says otherwise (False: none)."""
    def answer(handler, owner):
        declared = len(data) if length is None else length
        _head(handler, 200, ([("Content-Length", str(declared))] if declared is not False else []) + list(headers))
        _send(handler, owner, data)
    return answer


def _endless(handler, owner):
    _head(handler)
    chunk = b"\0" * 16384
    while owner.sent < ENDLESS_CAP:
        _send(handler, owner, chunk)


def _drip_body(handler, owner):
    _head(handler, 200, [("Content-Length", str(len(SHARD)))])
    for byte in SHARD:
        _send(handler, owner, bytes([byte]))
        time.sleep(0.05)


def _drip_headers(handler, owner):
    handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
    for _ in range(1000):
        handler.wfile.write(b"a")
        time.sleep(0.05)


def _redirect(location, status=302):
    def answer(handler, owner):
        _head(handler, status, [("Location", location)] if location is not None else [])
    return answer


def _not_found(handler, owner):
    _head(handler, 404, [("Content-Length", "0")])


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture
def other_server():
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def expected():
    return read_weight_arrays(load_model_json(SMALL_CNN).weights_manifest, str(SMALL_CNN))


def _load(url):
    artifacts = load_model_json(f"{url}/m/model.json")
    return read_weight_arrays(artifacts.weights_manifest, artifacts.base, artifacts.headers)


def _assert_same(loaded, expected):
    assert loaded.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(loaded[name], expected[name])


# -- bodies ---------------------------------------------------------------------------------------

def test_endless_shard_body_is_cut_at_the_size_the_manifest_implies(server):
    server.routes[SHARD_PATH] = _endless
    with pytest.raises(WeightsError, match=rf"group1-shard1of1.bin sent at least \d+ bytes, more than {len(SHARD)} "
                                           rf"\(weight group 1 .* needs {len(SHARD)} bytes in all") as info:
        engine.load_graph_model(f"{server.url}/m/model.json", backend="cpu")
    held = int(re.search(r"sent at least (\d+) bytes", str(info.value)).group(1))
    assert held <= len(SHARD) + remote._CHUNK_BYTES
    assert server.done.wait(5)  # the server's writes failed once the loader hung up ...
    assert server.sent < ENDLESS_CAP // 4  # ... long before the body's end (socket buffers hold the rest)


def test_endless_model_json_is_cut_at_its_limit(server, monkeypatch):
    monkeypatch.setattr(Limits, "max_model_json_bytes", 100_000)
    server.routes["/m/model.json"] = _endless
    with pytest.raises(WeightsError, match=r"model.json sent at least \d+ bytes, more than 100000 "
                                           r"\(the limit for model.json: .*TFGL_MAX_MODEL_JSON_BYTES"):
        load_model_json(f"{server.url}/m/model.json")


@pytest.mark.parametrize("answer, pattern", [
    (_serve(SHARD + b"\0", length=False), rf"sent at least {len(SHARD) + 1} bytes, more than {len(SHARD)}"),
    (_serve(SHARD + b"\0"), rf"has a Content-Length of {len(SHARD) + 1} bytes, more than {len(SHARD)}"),
    (_serve(b"", length=10 ** 12), rf"has a Content-Length of {10 ** 12} bytes, more than {len(SHARD)}"),
])
def test_oversized_shard(server, answer, pattern):
    server.routes[SHARD_PATH] = answer
    with pytest.raises(WeightsError, match="group1-shard1of1.bin " + pattern):
        _load(server.url)


def test_body_shorter_than_its_content_length(server):
    server.routes[SHARD_PATH] = _serve(SHARD[:-100], length=len(SHARD))
    with pytest.raises(WeightsError, match=r"group1-shard1of1.bin: .*IncompleteRead\(\d+ bytes read, 100 more"):
        _load(server.url)


def test_body_longer_than_its_content_length_is_read_up_to_it(server):
    """What follows the declared length is not the body: the shard comes out short, and says so."""
    server.routes[SHARD_PATH] = _serve(SHARD, length=len(SHARD) - 100)
    with pytest.raises(WeightsError, match=rf"weight group 1 \(group1-shard1of1.bin\): .*hold only {len(SHARD) - 100}"):
        _load(server.url)


def test_gzip_encoded_shard_is_decoded_and_bounded_by_its_decoded_size(server, expected):
    packed = gzip.compress(SHARD)
    server.routes[SHARD_PATH] = _serve(packed, headers=[("Content-Encoding", "gzip")])
    _assert_same(_load(server.url), expected)
    server.routes[SHARD_PATH] = _serve(gzip.compress(SHARD + b"\0" * 10 ** 6), headers=[("Content-Encoding", "gzip")])
    with pytest.raises(WeightsError, match=f"group1-shard1of1.bin sent at least .* more than {len(SHARD)}"):
        _load(server.url)


# -- the deadline ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path, answer", [(SHARD_PATH, _drip_body), ("/m/model.json", _drip_headers)])
def test_dripping_server_is_cut_at_the_deadline(server, monkeypatch, path, answer):
    """A byte every 50 ms never trips the per-read timeout; the file's deadline (1 s here) ends it."""
    monkeypatch.setattr(Limits, "http_deadline_s", 1.0)
    server.routes[path] = answer
    start = time.monotonic()
    with pytest.raises(WeightsError, match=rf"{path.rsplit('/', 1)[1]} was not received within 1 s "
                                           r"\(engine.io.Limits.http_deadline_s, TFGL_HTTP_DEADLINE_S\)"):
        _load(server.url)
    assert 0.9 < time.monotonic() - start < 3


@pytest.mark.parametrize("text, seconds, warns", [
    ("2.5", 2.5, False), ("30", 30.0, False), ("", 300.0, False),
    ("soon", 300.0, True), ("0", 300.0, True), ("-1", 300.0, True), ("inf", 300.0, True), ("nan", 300.0, True),
])
def test_deadline_from_the_environment(monkeypatch, text, seconds, warns):
    monkeypatch.setenv("TFGL_HTTP_DEADLINE_S", text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _seconds_from_env("TFGL_HTTP_DEADLINE_S", 300.0) == seconds
    assert [str(w.message) for w in caught] == \
        ([f"TFGL_HTTP_DEADLINE_S={text!r} is not a positive number of seconds; using 300.0"] if warns else [])


# -- redirects ------------------------------------------------------------------------------------

def test_same_origin_redirect_is_followed(server, expected):
    server.routes[SHARD_PATH] = _redirect("../store/shard.bin", 301)
    server.routes["/store/shard.bin"] = _serve(SHARD)
    _assert_same(_load(server.url), expected)
    assert server.requests == ["/m/model.json", SHARD_PATH, "/store/shard.bin"]


@pytest.mark.parametrize("path", [SHARD_PATH, "/m/model.json"])
def test_cross_origin_redirect_is_refused(server, other_server, path):
    server.routes[path] = _redirect(f"{other_server.url}{path}")
    with pytest.raises(UnsafePathError, match=rf"{path.rsplit('/', 1)[1]}: it redirects to {other_server.url}{path}, "
                                              r"another origin"):
        _load(server.url)
    assert other_server.requests == []


@pytest.mark.parametrize("routes, pattern", [
    ({SHARD_PATH: _redirect("/loop/a"), "/loop/a": _redirect("/loop/b"), "/loop/b": _redirect("/loop/a")},
     r"redirect loop \(.*/loop/b redirects back to .*/loop/a\)"),
    ({SHARD_PATH: _redirect(SHARD_PATH)}, r"redirect loop"),
    ({SHARD_PATH: _redirect("/hop/0"), **{f"/hop/{i}": _redirect(f"/hop/{i + 1}") for i in range(10)}},
     rf"more than {remote.MAX_REDIRECTS} redirects"),
    ({SHARD_PATH: _redirect(None)}, r"HTTP 302 without a Location"),
])
def test_bad_redirects(server, routes, pattern):
    server.routes.update(routes)
    with pytest.raises(WeightsError, match=r"cannot fetch .*/m/group1-shard1of1.bin: " + pattern):
        _load(server.url)
    assert len(server.requests) <= 2 + remote.MAX_REDIRECTS


# -- local symlinks -------------------------------------------------------------------------------

@pytest.fixture
def farm(tmp_path):
    """model/ with model.json, outside/ with the real shard next to it."""
    (tmp_path / "model").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "model" / "model.json").write_bytes(MODEL_JSON)
    (tmp_path / "outside" / "group1-shard1of1.bin").write_bytes(SHARD)
    return tmp_path


def _load_local(location):
    artifacts = load_model_json(location)
    return read_weight_arrays(artifacts.weights_manifest, artifacts.base)


@pytest.mark.parametrize("as_uri", [False, True])
def test_symlink_out_of_the_model_folder_is_refused(farm, as_uri):
    (farm / "model" / "group1-shard1of1.bin").symlink_to(farm / "outside" / "group1-shard1of1.bin")
    location = (farm / "model" / "model.json").as_uri() if as_uri else farm / "model"
    with pytest.raises(UnsafePathError, match=r"'group1-shard1of1.bin' resolves through a symlink to "
                                              r".*outside/group1-shard1of1.bin, outside the model's folder"):
        _load_local(location)


def test_symlinked_folder_inside_the_model_leading_out_is_refused(farm):
    manifest = load_model_json(farm / "model").weights_manifest
    manifest[0]["paths"] = ["sub/group1-shard1of1.bin"]
    (farm / "model" / "sub").symlink_to(farm / "outside")
    with pytest.raises(UnsafePathError, match="'sub/group1-shard1of1.bin' resolves through a symlink"):
        read_weight_arrays(manifest, str(farm / "model"))


def test_symlinks_within_the_model_folder_are_read(farm, expected):
    shutil.move(farm / "outside" / "group1-shard1of1.bin", farm / "model" / "real.bin")
    (farm / "model" / "group1-shard1of1.bin").symlink_to("real.bin")
    _assert_same(_load_local(farm / "model"), expected)


def test_model_folder_that_is_itself_a_symlink(farm, expected):
    shutil.move(farm / "outside" / "group1-shard1of1.bin", farm / "model" / "group1-shard1of1.bin")
    (farm / "link").symlink_to(farm / "model")
    _assert_same(_load_local(farm / "link"), expected)
    _assert_same(_load_local((farm / "link" / "model.json").as_uri()), expected)


def test_fifo_as_a_shard_is_refused_without_blocking(farm):
    os.mkfifo(farm / "model" / "group1-shard1of1.bin")
    with pytest.raises(WeightsError, match="group1-shard1of1.bin: not a regular file"):
        _load_local(farm / "model")


def test_local_model_json_over_its_limit_is_refused_before_reading(farm, monkeypatch):
    monkeypatch.setattr(Limits, "max_model_json_bytes", 1000)
    with pytest.raises(WeightsError, match=rf"model.json holds {len(MODEL_JSON)} bytes, more than 1000"):
        load_model_json(farm / "model")
