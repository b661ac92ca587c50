"""Fixtures the Chromium tests share: the generated stubs, one demo per test
module (settled before the first test), and one headless Chromium per module.
A module that needs other stubs defines its own `stubs`, which wins."""

import tempfile

import pytest

from citydash_stubs import free_port, free_port_run, generate
from demo_process import CHROMIUM, CHROMIUM_ARGS, Demo, overview_when_settled


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    generate(tmp_path_factory.mktemp("gen"))
    from citydash.v1 import city_pb2, city_pb2_grpc, common_pb2, sector_pb2, sector_pb2_grpc

    return city_pb2, city_pb2_grpc, common_pb2, sector_pb2, sector_pb2_grpc


@pytest.fixture(scope="module")
def demo(stubs):
    with tempfile.TemporaryDirectory() as data:
        d = Demo(data, free_port_run(5), free_port())
        d.data_dir = data
        try:
            overview_when_settled(stubs, d)
            yield d
        finally:
            d.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
