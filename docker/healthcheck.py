"""The container's health check: `python healthcheck.py /livez` exits 0 when the bot answers 200 on that path.

The slim image has no curl or wget, so Python's urllib asks `http://127.0.0.1:$PORT/PATH` (PORT as the bot reads
it, 3000 by default). Any other answer, a refused connection or no answer within 4 seconds exits 1, with the reason
and the answer's body on stderr (`docker inspect` shows it).
"""

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/livez"
    url = f"http://127.0.0.1:{os.environ.get('PORT') or 3000}{path}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP_PROXY
    try:
        with direct.open(url, timeout=4) as answer:
            status, body = answer.status, b""
    except urllib.error.HTTPError as error:  # 503 from /readyz: its body says which check failed
        status, body = error.code, error.read(500)
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status} {body.decode(errors='replace')}".rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
