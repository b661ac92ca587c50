"""The demo as a child process, for the tests that drive the dashboard in
Chromium: start it, read the tokens and the dashboard address it prints, wait
until the aggregator has caught up, stop it with Ctrl-C."""

import collections
import signal
import subprocess
import threading
import time

import grpc

from citydash_stubs import binary

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]


class Demo:
    """`citydash demo` in a child process."""

    def __init__(self, data_dir, grpc_port, http_port):
        self.grpc_port, self.http_port = grpc_port, http_port
        self.proc = subprocess.Popen(
            [
                str(binary("citydash")),
                "demo",
                "--data-dir",
                data_dir,
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(http_port),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 120
        lines = []
        self.tokens = {}
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            words = line.split()
            if len(words) == 2 and words[1].count(".") == 2:
                self.tokens[words[0]] = words[1]
            if line.strip().startswith("dashboard"):
                self.dashboard_url = words[1]
            if "Press Ctrl-C to stop." in line:
                # Its log goes on to the same pipe: read it from now on (the last
                # lines kept for a failure's message), or a full pipe would block
                # every thread of the demo that logs.
                self.log = collections.deque(lines, maxlen=200)
                threading.Thread(target=self._drain, daemon=True).start()
                return
        self.stop()
        raise AssertionError("demo did not start:\n" + "".join(lines))

    def _drain(self):
        for line in self.proc.stdout:
            self.log.append(line)

    @property
    def url(self):
        """The dashboard with the viewer token, as the demo prints it."""
        return self.dashboard_url

    def metadata(self, label="viewer"):
        return [("authorization", "Bearer " + self.tokens[label])]

    def channel(self):
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0, "demo did not stop cleanly on Ctrl-C"


def overview_when_settled(stubs, demo):
    """The overview once the aggregator has caught up with every feed."""
    city_pb2, city_pb2_grpc = stubs[0], stubs[1]
    stub = city_pb2_grpc.CityServiceStub(demo.channel())
    last, same = None, 0
    for _ in range(200):
        o = stub.GetOverview(city_pb2.GetOverviewRequest(), timeout=10, metadata=demo.metadata()).overview
        if not o.stale_feeds and last is not None and o.data_version == last.data_version:
            same += 1
            if same >= 5:
                return o
        else:
            same = 0
        last = o
        time.sleep(0.1)
    raise AssertionError("the overview never settled")
