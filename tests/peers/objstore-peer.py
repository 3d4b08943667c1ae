#!/usr/bin/env python3
# Real object-store peers for the tests (tests/peers/NOTES.md says what each
# one checks and what it forgives).
#
#   objstore-peer.py nginx DIR   nginx (WebDAV PUT) over HTTPS and HTTP, with
#                                a CA and a certificate for "localhost" made
#                                by openssl now
#   objstore-peer.py s3 DIR      s3rver ($DASHCAM_S3RVER) behind a proxy that
#                                verifies SigV4 with botocore, Content-MD5 and
#                                x-amz-content-sha256, as S3 does
#
# Prints one JSON line when the peer is ready, then reads commands, one a
# line, on stdin and answers each with one JSON line:
#   stats              body bytes and requests seen by the proxy
#   flip N             flip one byte in the body of the next N PUTs
#   cut N              after N more UploadParts, read half of the next one,
#                      break the connection and stop listening
#   start              listen again (after cut or stop)
#   stop               stop listening (connection refused)
#   hang               read half the next PUT's body, then stay silent
#   status CODE N      answer the next N requests with CODE (S3 error XML)
#   skew SECONDS       the proxy's clock runs SECONDS ahead (x-amz-date
#                      check)
# Ends, killing what it started, on stdin EOF, SIGTERM, its parent's death or
# after --lifetime seconds.
import argparse
import calendar
import ctypes
import hashlib
import base64
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

children = []


def die_with_parent():
    # the peer's children die with it (PR_SET_PDEATHSIG = 1)
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def cleanup(*_):
    for p in children:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    os._exit(0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s did not listen on %d within %d s" % (what, port, timeout))


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run(["openssl", "req", "-x509"] + ec + ["-keyout", d + "/ca.key",
        "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=dashcam test CA"])
    run(["openssl", "req"] + ec + ["-keyout", d + "/server.key", "-out",
        d + "/server.csr", "-subj", "/CN=localhost"])
    with open(d + "/ext.cnf", "w") as f:
        # only the name: https://127.0.0.1 is a name mismatch
        f.write("subjectAltName=DNS:localhost\n")
    run(["openssl", "x509", "-req", "-in", d + "/server.csr", "-CA",
         d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial", "-out",
         d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"])


NGINX_CONF = """
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{https} ssl;
    listen 127.0.0.1:{http};
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    root {d}/www;
    location /status403/ {{ return 403; }}
    location /status404/ {{ return 404; }}
    location /status503/ {{ return 503; }}
    location / {{
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }}
  }}
}}
"""


def start_nginx(d):
    make_certs(d)
    os.makedirs(d + "/www", exist_ok=True)
    os.makedirs(d + "/body", exist_ok=True)
    https, http_ = free_port(), free_port()
    with open(d + "/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(d=d, https=https, http=http_))
    p = subprocess.Popen(["nginx", "-e", d + "/error.log", "-c",
                          d + "/nginx.conf", "-p", d],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(d + "/nginx.stderr", "w"),
                         preexec_fn=die_with_parent)
    children.append(p)
    wait_port(https, p, "nginx")
    wait_port(http_, p, "nginx")
    return {"pid": p.pid, "https_port": https, "http_port": http_,
            "ca": d + "/ca.pem", "root": d + "/www"}


# ---- the S3 verifying proxy ----

KEYS = {}          # access key id -> secret
BACKEND = None     # s3rver port
LOGDIR = "."
lock = threading.Lock()
stats = {"body_bytes": 0, "requests": 0, "puts": 0, "parts": 0,
         "no_md5": 0, "sig_mismatch": 0, "bad_digest": 0, "flipped": 0,
         "completes": 0, "aborts": 0}
uploads = set()    # multipart uploads begun and not completed or aborted
mode = {"skew": 0, "flip": 0, "cut": None, "hang": False, "status": None,
        "status_n": 0}

AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/"
                     r"([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?"
                     r"Signature=([0-9a-f]{64})")


def expected_signature(handler, body, ak, region, service, signed):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {}
    for h in signed.split(";"):
        headers[h] = handler.headers.get(h, "")
    req = AWSRequest(method=handler.command,
                     url="http://%s%s" % (handler.headers["host"],
                                          handler.path),
                     headers=headers, data=body)
    req.context["timestamp"] = handler.headers.get("x-amz-date", "")
    auth = S3SigV4Auth(Credentials(ak, KEYS[ak]), service, region)
    canonical = auth.canonical_request(req)
    handler.canonical = canonical
    return auth.signature(auth.string_to_sign(req, canonical), req)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def s3_error(self, status, code, msg=""):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s"
                "</Code><Message>%s</Message></Error>" % (code, msg)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self, limit=None):
        n = int(self.headers.get("content-length", "0"))
        want = n if limit is None else min(n, limit)
        got = bytearray()
        while len(got) < want:
            chunk = self.rfile.read1(min(1 << 20, want - len(got)))
            if not chunk:
                break
            got += chunk
            with lock:
                stats["body_bytes"] += len(chunk)
        return bytes(got), n

    def break_connection(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def handle_any(self):
        is_part = self.command == "PUT" and "partNumber=" in self.path
        with lock:
            stats["requests"] += 1
            status = None
            if mode["status_n"] > 0:
                mode["status_n"] -= 1
                status = mode["status"]
            hang = self.command == "PUT" and mode["hang"]
            cut = is_part and mode["cut"] == 0
            if is_part and mode["cut"]:
                mode["cut"] -= 1
        if hang or cut:
            n = int(self.headers.get("content-length", "0"))
            self.read_body(n // 2)
            if cut:
                with lock:
                    mode["cut"] = None
                # down before the client sees the break
                stop_listening()
                self.break_connection()
                return
            for _ in range(600):
                if not mode["hang"]:
                    break
                time.sleep(0.1)
            self.break_connection()
            return
        body, n = self.read_body()
        if len(body) != n:
            self.close_connection = True
            return
        if status:
            return self.s3_error(status, {500: "InternalError",
                                          503: "SlowDown"}.get(status,
                                                               "Error"))
        self.verify_and_forward(body)

    def verify_and_forward(self, body):
        if self.command == "PUT" and body:
            with lock:
                stats["puts"] += 1
                if mode["flip"] > 0:
                    mode["flip"] -= 1
                    stats["flipped"] += 1
                    b = bytearray(body)
                    b[len(b) // 2] ^= 0x01
                    body = bytes(b)
        m = AUTH_RE.match(self.headers.get("authorization", ""))
        if not m:
            return self.s3_error(403, "AccessDenied", "no SigV4 Authorization")
        ak, _, region, service, signed, sig = m.groups()
        if ak not in KEYS:
            return self.s3_error(403, "InvalidAccessKeyId")
        if "host" not in signed.split(";") or \
                "x-amz-content-sha256" not in signed.split(";"):
            return self.s3_error(403, "AccessDenied",
                                 "host and x-amz-content-sha256 must be signed")
        try:
            when = calendar.timegm(time.strptime(
                self.headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return self.s3_error(403, "AccessDenied", "no x-amz-date")
        if abs(time.time() + mode["skew"] - when) > 15 * 60:
            return self.s3_error(403, "RequestTimeTooSkewed")
        if expected_signature(self, body, ak, region, service, signed) != sig:
            with lock:
                stats["sig_mismatch"] += 1
                # what was expected, for whoever debugs a client
                with open(LOGDIR + "/signatures.log", "a") as f:
                    f.write("%s %s\n%s\n--- canonical request:\n%s\n\n"
                            % (self.command, self.path, self.headers,
                               self.canonical))
            return self.s3_error(403, "SignatureDoesNotMatch")
        md5 = self.headers.get("content-md5")
        if md5 is None and body:
            with lock:
                stats["no_md5"] += 1
        if md5 is not None and \
                md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            with lock:
                stats["bad_digest"] += 1
            return self.s3_error(400, "BadDigest")
        sha = self.headers.get("x-amz-content-sha256", "")
        if sha != "UNSIGNED-PAYLOAD" and \
                sha != hashlib.sha256(body).hexdigest():
            with lock:
                stats["bad_digest"] += 1
            return self.s3_error(400, "XAmzContentSHA256Mismatch")
        # s3rver has no AbortMultipartUpload and takes parts for any
        # upload id: the proxy keeps the live ids and answers as S3 does
        upload = re.search(r"uploadId=([^&]*)", self.path)
        upload = upload.group(1) if upload else None
        if upload is not None:
            with lock:
                known = upload in uploads
                if self.command == "DELETE":
                    uploads.discard(upload)
            if not known:
                return self.s3_error(404, "NoSuchUpload")
            if self.command == "DELETE":
                with lock:
                    stats["aborts"] += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        with lock:
            if "partNumber=" in self.path:
                stats["parts"] += 1
            if self.command == "POST" and "uploadId=" in self.path:
                stats["completes"] += 1
        status, data = self.forward(body)
        if status == 200 and self.command == "POST":
            m = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
            with lock:
                if m and self.path.endswith("?uploads="):
                    uploads.add(m.group(1).decode())
                elif upload is not None:
                    uploads.discard(upload)

    def forward(self, body):
        c = http.client.HTTPConnection("127.0.0.1", BACKEND, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "expect",
                                        "transfer-encoding")}
        c.request(self.command, self.path, body=body if body else None,
                  headers=headers)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding",
                                 "content-length", "date", "server"):
                self.send_header(k, v)
        # a HEAD's length is the object's
        self.send_header("Content-Length", r.getheader("content-length", "0")
                         if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()
        return r.status, data

    do_PUT = do_POST = do_GET = do_HEAD = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = None
server_port = None


listen_lock = threading.Lock()


def start_listening():
    global server
    with listen_lock:
        if server is None:
            server = Server(("127.0.0.1", server_port), Proxy)
            threading.Thread(target=server.serve_forever, daemon=True).start()


def stop_listening():
    global server
    with listen_lock:
        if server is not None:
            server.shutdown()
            server.server_close()
            server = None


def start_s3(d, access, secret, bucket):
    global BACKEND, server_port, LOGDIR
    LOGDIR = d
    KEYS[access] = secret
    s3rver = os.environ.get("DASHCAM_S3RVER", "")
    if not os.access(s3rver, os.X_OK):
        sys.exit("no s3rver at DASHCAM_S3RVER=%r (scripts/install-s3rver.sh)"
                 % s3rver)
    BACKEND = free_port()
    os.makedirs(d + "/s3data", exist_ok=True)
    p = subprocess.Popen([s3rver, "-d", d + "/s3data", "-a", "127.0.0.1",
                          "-p", str(BACKEND), "--silent",
                          "--configure-bucket", bucket],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(d + "/s3rver.stderr", "w"),
                         preexec_fn=die_with_parent)
    children.append(p)
    wait_port(BACKEND, p, "s3rver")
    server_port = free_port()
    start_listening()
    return {"pid": p.pid, "s3rver_port": BACKEND, "port": server_port}


def command(line):
    w = line.split()
    if not w:
        return {}
    with lock:
        if w[0] == "stats":
            return dict(stats)
        if w[0] == "flip":
            mode["flip"] = int(w[1])
        elif w[0] == "cut":
            mode["cut"] = int(w[1])
        elif w[0] == "skew":
            mode["skew"] = int(w[1])
        elif w[0] == "hang":
            mode["hang"] = True
        elif w[0] == "release":
            mode["hang"] = False
        elif w[0] == "status":
            mode["status"], mode["status_n"] = int(w[1]), int(w[2])
        elif w[0] not in ("start", "stop"):
            return {"error": "unknown command %s" % w[0]}
    if w[0] == "start":
        start_listening()
    elif w[0] == "stop":
        stop_listening()
    return {"ok": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["nginx", "s3"])
    ap.add_argument("dir")
    ap.add_argument("--access", default="S3RVER")
    ap.add_argument("--secret", default="S3RVER")
    ap.add_argument("--bucket", default="dashcam-test")
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, cleanup)
    signal.signal(signal.SIGINT, cleanup)
    timer = threading.Timer(a.lifetime, cleanup)
    timer.daemon = True
    timer.start()
    d = os.path.abspath(a.dir)
    os.makedirs(d, exist_ok=True)
    info = start_nginx(d) if a.kind == "nginx" else \
        start_s3(d, a.access, a.secret, a.bucket)
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        print(json.dumps(command(line)), flush=True)
    cleanup()


if __name__ == "__main__":
    try:
        main()
    finally:
        # also on an error (a closed stdout): never outlive it
        cleanup()
