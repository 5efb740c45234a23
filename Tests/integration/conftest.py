"""Starts a real `tarn serve --quickstart` for the integration tests and stops it by PID.

The binary comes from TARN_BIN (the Makefile passes the one `swift test` just built). The
server is asked for port 0 and prints the URL once it accepts connections, so the fixture
waits on that line, not on a timer.
"""
import os
import shutil
import signal
import subprocess
import tempfile

import pytest


ADMIN_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="session")
def tarn_url():
    binary = os.environ.get("TARN_BIN")
    assert binary and os.access(binary, os.X_OK), f"TARN_BIN must name the tarn binary, got {binary!r}"
    data_dir = tempfile.mkdtemp(prefix="tarn-it-")
    env = dict(os.environ, TARN_ADMIN_ACCESS_KEY_ID=ADMIN_KEY_ID, TARN_ADMIN_SECRET_ACCESS_KEY=ADMIN_SECRET)
    proc = subprocess.Popen(
        [binary, "serve", "--quickstart", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("Tarn is listening on "):
                url = line.split()[-1]
                break
        assert url, f"server exited before listening (code {proc.poll()})"
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
