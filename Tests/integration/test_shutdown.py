"""SIGTERM during an upload: the upload in flight completes, and nothing acknowledged is lost."""
import base64
import http.client
import re
import time
import urllib.parse
import urllib.request

import lakefs
from lakefs.client import Client

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess

AUTH = "Basic " + base64.b64encode(f"{ADMIN_KEY_ID}:{ADMIN_SECRET}".encode()).decode()


def active_posts(url):
    """POST requests the server is handling now (Hummingbird's active-requests gauge)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    values = [float(m.group(1)) for m in re.finditer(
        r'^http_server_active_requests\{[^}]*http_request_method="POST"[^}]*\} (\S+)$', text, re.M)]
    return sum(values)


def wait_until_handled(url, timeout=30):
    """Returns once the server has read a POST's head and is running its handler. Until then
    the connection may still sit in the listen backlog, or be open with nothing parsed, and a
    graceful shutdown rightly closes both: signalling before this point made the test flaky."""
    deadline = time.monotonic() + timeout
    while active_posts(url) < 1:
        assert time.monotonic() < deadline, "the server never started handling the upload"
        time.sleep(0.01)


def test_sigterm_finishes_the_upload_in_flight_and_keeps_acknowledged_ones(data_dir):
    server = TarnProcess(data_dir)
    client = Client(host=server.url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    repo = lakefs.Repository("shutdown-test", client=client).create(storage_namespace="local://shutdown-test")
    main = repo.branch("main")
    acknowledged = {f"done/{i}.txt": f"object {i}".encode() for i in range(20)}
    for path, data in acknowledged.items():
        main.object(path).upload(data=data)
    main.commit(message="twenty objects")
    main.object("staged-only.txt").upload(data=b"not committed, still acknowledged")

    # Half of a 1 MiB upload is on the wire when the signal arrives.
    payload = bytes(range(256)) * 4096
    url = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", "/api/v1/repositories/shutdown-test/branches/main/objects?path=in-flight.bin")
    conn.putheader("Authorization", AUTH)
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(len(payload)))
    conn.endheaders()
    conn.send(payload[: len(payload) // 2])
    wait_until_handled(server.url)

    server.proc.send_signal(15)
    # The server says it is shutting down before it stops accepting; only then is the rest sent.
    lines = []
    for line in server.proc.stdout:
        lines.append(line)
        if line.startswith("Tarn is shutting down"):
            break
    assert any(l.startswith("Tarn is shutting down") for l in lines), lines
    conn.send(payload[len(payload) // 2:])
    response = conn.getresponse()
    assert response.status == 201, response.read()
    response.read()
    conn.close()
    assert server.proc.wait(timeout=30) == 0
    assert "Tarn stopped\n" in server.proc.stdout.read()

    restarted = TarnProcess(data_dir)
    try:
        client = Client(host=restarted.url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)
        main = lakefs.Repository("shutdown-test", client=client).branch("main")
        for path, data in acknowledged.items():
            assert main.object(path).reader().read() == data
        assert main.object("staged-only.txt").reader().read() == b"not committed, still acknowledged"
        assert main.object("in-flight.bin").reader().read() == payload
    finally:
        restarted.stop()
