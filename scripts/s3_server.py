"""A throwaway S3-compatible server for the tests and benchmarks: moto's S3 app on 127.0.0.1.

Run with the venv of scripts/install_moto.sh:
    python scripts/s3_server.py --port 9000 --bucket mlctl-test [--bucket other] [--access-key-id KEY]
It creates the buckets, prints one line "ready http://127.0.0.1:PORT" on stdout once it answers, and serves until
killed.

Why not plain `moto_server`: moto checks If-Match / If-None-Match and then stores the object without a lock
(moto/s3/responses.py), so two concurrent conditional writes can both succeed, which real S3 never allows; the
registry's safety rests on exactly that refusal. Each whole request here runs under one global lock, which makes
moto's conditional writes atomic like S3's (and costs nothing that matters at test sizes).

moto accepts any credentials. With --access-key-id, a request signed with another access key id is refused with
S3's 403 InvalidAccessKeyId, so tests can check how mlctl reports wrong credentials. Unsigned requests (the tests'
own direct reads and writes, e.g. overwriting an artifact to tamper with it) are served as the bucket's owner:
moto would refuse them as anonymous on a private object.
"""

import argparse
import http.client
import re
import sys
import threading

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def serialised(app):
    """WSGI middleware: one request at a time, body read and response fully built inside the lock."""
    lock = threading.Lock()

    def middleware(environ, start_response):
        with lock:
            captured = {}

            def capture(status, headers, exc_info=None):
                captured["args"] = (status, headers, exc_info)
                return lambda _data: None

            result = app(environ, capture)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        status, headers, exc_info = captured["args"]
        start_response(status, headers, exc_info)
        return [body]

    return middleware


def key_checked(app, access_key_id):
    """Refuses requests signed with an access key id other than `access_key_id` (when given), as S3 does; signs
    unsigned requests for moto with a placeholder (it checks no signature)."""

    def middleware(environ, start_response):
        found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not found:
            environ["HTTP_AUTHORIZATION"] = (
                f"AWS4-HMAC-SHA256 Credential={access_key_id or 'direct'}/20260101/us-east-1/s3/aws4_request, "
                "SignedHeaders=host, Signature=0"
            )
        elif access_key_id and found.group(1) != access_key_id:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
                "<Message>The AWS Access Key Id you provided does not exist in our records.</Message>"
                f"<AWSAccessKeyId>{found.group(1)}</AWSAccessKeyId></Error>"
            ).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start_response)

    return middleware


def create_buckets(port, buckets):
    for bucket in buckets:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("PUT", f"/{bucket}", headers={"Content-Length": "0"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"s3_server.py: creating bucket {bucket} answered {response.status}")
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bucket", action="append", default=[], help="a bucket to create (repeatable)")
    parser.add_argument("--access-key-id", help="refuse requests signed with any other access key id")
    args = parser.parse_args()

    app = serialised(DomainDispatcherApplication(create_backend_app))
    app = key_checked(app, args.access_key_id)
    server = make_server(
        "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    create_buckets(args.port, args.bucket)
    print(f"ready http://127.0.0.1:{args.port}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
