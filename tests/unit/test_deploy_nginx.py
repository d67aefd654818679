"""The production proxy configuration, deploy/nginx/specscan.conf: valid nginx, and at least as strict as the services
behind it (their settings' defaults)."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from specscan.cli.serve import serve
from specscan.cli.webapp import app as web_app
from specscan.settings import Settings
from specscan.webapp.app import MAX_BODY_BYTES

crossplane = pytest.importorskip(
    "crossplane", reason="crossplane (in the dev extra) is not installed: deploy/nginx/specscan.conf is NOT checked")

CONF = Path(__file__).parents[2] / "deploy" / "nginx" / "specscan.conf"
SITES = {"scoring.example.com": ("specscan_scoring", serve), "app.example.com": ("specscan_webapp", web_app)}
Block = list[dict[str, Any]]


def _main_conf(directory: Path, site: Path) -> Path:
    """A whole nginx.conf around `site`, which is written to be read inside `http { }`, as conf.d files are."""
    main = directory / "nginx.conf"
    temporary = "".join(f"    {kind}_temp_path {directory}/{kind};\n"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main.write_text(f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
                    f"http {{\n    access_log off;\n{temporary}    include {site};\n}}\n")
    return main


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Block:
    """The site file's directives, as crossplane parses them inside `http { }` (known directives only)."""
    payload = crossplane.parse(str(_main_conf(tmp_path_factory.mktemp("nginx"), CONF)), strict=True)
    assert payload["status"] == "ok", payload["errors"]
    (site,) = [f for f in payload["config"] if f["file"] == str(CONF)]
    return site["parsed"]


def _all(block: Block, name: str) -> list[list[str]]:
    return [d["args"] for d in block if d["directive"] == name]


def _one(block: Block, name: str) -> list[str]:
    (args,) = _all(block, name)
    return args


def _site(config: Block, name: str) -> Block:
    (server,) = [d["block"] for d in config if d["directive"] == "server" and [name] in _all(d["block"], "server_name")
                 and any("ssl" in listen for listen in _all(d["block"], "listen"))]
    return server


def _bytes(size: str) -> int:
    return int(size[:-1]) << {"k": 10, "m": 20}[size[-1].lower()] if size[-1].isalpha() else int(size)


def _seconds(duration: str) -> float:
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def test_the_configuration_is_valid_nginx(config: Block) -> None:
    assert {d["directive"] for d in config} >= {"limit_conn_zone", "upstream", "server"}


@pytest.mark.parametrize("name", SITES)
def test_each_site_bounds_request_heads_as_tightly_as_the_services(config: Block, name: str) -> None:
    site, settings = _site(config, name), Settings()
    count, size = _one(site, "large_client_header_buffers")

    assert _seconds(_one(site, "client_header_timeout")[0]) <= settings.header_timeout
    assert _seconds(_one(site, "client_body_timeout")[0]) <= settings.body_timeout
    assert int(count) * _bytes(size) <= settings.max_header_bytes
    assert _bytes(_one(site, "client_header_buffer_size")[0]) <= settings.max_header_bytes
    assert _seconds(_one(site, "keepalive_timeout")[0]) <= settings.keep_alive_timeout
    zone, connections = _one(site, "limit_conn")
    assert f"zone={zone}" in [a.split(":")[0] for a in _one(config, "limit_conn_zone")]
    assert int(connections) < settings.max_connections


def test_each_site_refuses_the_bodies_its_service_refuses(config: Block) -> None:
    assert _bytes(_one(_site(config, "scoring.example.com"), "client_max_body_size")[0]) == Settings().max_body_bytes
    assert _bytes(_one(_site(config, "app.example.com"), "client_max_body_size")[0]) == MAX_BODY_BYTES


@pytest.mark.parametrize("name", SITES)
def test_each_site_proxies_to_its_service_on_loopback_and_replaces_the_forwarded_headers(
        config: Block, name: str) -> None:
    upstream, command = SITES[name]
    (location,) = [d["block"] for d in _site(config, name) if d["directive"] == "location" and d["args"] == ["/"]]
    (pool,) = [d["block"] for d in config if d["directive"] == "upstream" and d["args"] == [upstream]]
    headers = {args[0]: args[1] for args in _all(location, "proxy_set_header")}

    assert _one(location, "proxy_pass") == [f"http://{upstream}"]
    assert _one(pool, "server") == [f"127.0.0.1:{inspect.signature(command).parameters['port'].default}"]
    assert headers["X-Forwarded-For"] == "$remote_addr"  # not $proxy_add_x_forwarded_for: the client's is dropped
    assert headers["X-Forwarded-Proto"] == "$scheme" and headers["Host"] == "$host"
    assert _one(location, "proxy_request_buffering") == ["on"]


def test_tls_is_terminated_with_placeholder_files_and_plain_http_only_redirects(config: Block) -> None:
    servers = [d["block"] for d in config if d["directive"] == "server"]
    tls = [s for s in servers if any("ssl" in listen for listen in _all(s, "listen"))]

    assert "PRIVATE KEY" not in CONF.read_text() and "CERTIFICATE-----" not in CONF.read_text()
    assert len(tls) == 3  # the two sites and a default server that drops unknown names
    for server in tls:
        assert _one(server, "ssl_certificate")[0].startswith("/etc/ssl/specscan/")
        assert _one(server, "ssl_certificate_key")[0].startswith("/etc/ssl/specscan/")
    for server in (s for s in servers if s not in tls):
        assert _one(server, "return")[0] in ("308", "444")


def test_nginx_itself_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("no nginx (or openssl) on this machine: `nginx -t` is NOT run on deploy/nginx/specscan.conf "
                    "(crossplane's checks above still are)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    site = tmp_path / "specscan.conf"
    site.write_text(CONF.read_text().replace("/etc/ssl/specscan/", f"{tmp_path}/"))

    result = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(_main_conf(tmp_path, site))], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
