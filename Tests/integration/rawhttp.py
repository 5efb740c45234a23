"""Signed HTTP/1.1 requests written straight to a socket, and their responses read back one
after another: what pipelining tests need and `requests` cannot do."""
import hashlib
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def signed(url, method, body=b"", headers=None, payload_hash=None):
    headers = dict(headers or {})
    headers["x-amz-content-sha256"] = payload_hash or hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ADMIN_KEY_ID, ADMIN_SECRET), "s3", "us-east-1").add_auth(req)
    return dict(req.headers)


def raw_request(url, method, body=b"", headers=None):
    u = urlparse(url)
    h = signed(url, method, body, headers)
    target = u.path + (("?" + u.query) if u.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {u.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in h.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Responses:
    """Reads HTTP/1.1 responses one after another off one socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        data = self.sock.recv(65536)
        assert data, "connection closed"
        self.buf += data

    def next(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        if head_only or status in (204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body, self.buf = body + self.buf[:size], self.buf[size + 2:]
                if size == 0:
                    return status, headers, body
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body
