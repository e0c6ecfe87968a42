"""A listing-only S3 stand-in on 127.0.0.1 with a generated key space, for timing the
listing of a million keys without storing a million objects.

    python3 fake_listing.py PORT KEYS STATS_FILE [DELAY_MS]

Bucket `bench`, keys `logs/YYYY-mm-DD-HH-MM-SS-<16 hex digits>` spread evenly over 30
days from 2022-05-01, in key order by construction, made once at the start with their
XML (a million take about 300 MB and a few seconds), so that a page costs little: the
server must not be what limits a client with many requests in flight. It answers
ListObjectsV2 (prefix, start-after, continuation-token, max-keys up to 1,000, the `/`
delimiter) and GetObject (a one-line body), each after DELAY_MS (default 25), and
ignores signatures. STATS_FILE is rewritten at the first LIST and GET and every 100
requests with the number of LIST and GET requests and the wall-clock times of the first
LIST, the last LIST and the first GET.
"""
import asyncio
import bisect
import datetime
import json
import sys
import time
import urllib.parse
from xml.sax.saxutils import escape

PORT, KEYS, STATS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
DELAY = (float(sys.argv[4]) if len(sys.argv) > 4 else 25.0) / 1000
START = datetime.datetime(2022, 5, 1, tzinfo=datetime.timezone.utc).timestamp()
SPAN = 30 * 86400
BODY = (
    b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be bench "
    b"[01/May/2022:00:00:00 +0000] 10.0.0.1 - 3E57427F3EXAMPLE REST.GET.OBJECT k "
    b"\"GET /bench/k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\" -\n"
)
stats = {"list": 0, "get": 0, "first_list": None, "last_list": None, "first_get": None}


def stamp(t):
    d, s = divmod(int(t), 86400)
    day = time.strftime("%Y-%m-%d", time.gmtime(d * 86400))
    return f"{day}-{s // 3600:02d}-{s % 3600 // 60:02d}-{s % 60:02d}"


# Every key and its <Contents> element, made once: a page is then a slice joined.
KEY_LIST = [f"logs/{stamp(START + i * SPAN // KEYS)}-{i:016X}" for i in range(KEYS)]
CONTENTS = [
    (
        f"<Contents><Key>{k}</Key><LastModified>2022-05-01T00:00:00.000Z</LastModified>"
        f'<ETag>"0123456789abcdef0123456789abcdef"</ETag><Size>{len(BODY)}</Size>'
        "<StorageClass>STANDARD</StorageClass></Contents>"
    ).encode()
    for k in KEY_LIST
]


def key(i):
    return KEY_LIST[i]


def position(k):
    """The index of the first key greater than k."""
    return bisect.bisect_right(KEY_LIST, k)


def listing(query):
    prefix = query.get("prefix", "")
    after = query.get("continuation-token") or query.get("start-after") or ""
    most = min(int(query.get("max-keys", "1000")), 1000)
    delimiter = query.get("delimiter")
    start = max(position(after), bisect.bisect_left(KEY_LIST, prefix))
    folders = []
    i = start
    if delimiter == "/" and "/" not in prefix and "logs/".startswith(prefix) and after < "logs/":
        folders.append("logs/")
        i = KEYS
    end = min(i + most, KEYS)
    if not "logs/".startswith(prefix):
        end = min(end, bisect.bisect_left(KEY_LIST, prefix + "\U0010ffff"))
    contents = range(i, max(i, end))
    truncated = end < KEYS and key(end).startswith(prefix) and len(contents) == most
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>bench</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(contents)}</KeyCount>"
        f"<MaxKeys>{most}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
    )
    if truncated:
        head += f"<NextContinuationToken>{escape(key(end - 1))}</NextContinuationToken>"
    parts = [head.encode()]
    parts.extend(CONTENTS[i:end])
    for f in folders:
        parts.append(f"<CommonPrefixes><Prefix>{escape(f)}</Prefix></CommonPrefixes>".encode())
    parts.append(b"</ListBucketResult>")
    return b"".join(parts)


def save():
    with open(STATS + ".tmp", "w") as f:
        json.dump(stats, f)
    import os
    os.replace(STATS + ".tmp", STATS)


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            url = urllib.parse.urlsplit(target)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            now = time.time()
            first = stats["first_list"] is None or stats["first_get"] is None
            if "list-type" in query:
                stats["list"] += 1
                stats["first_list"] = stats["first_list"] or now
                body, kind = listing(query), b"application/xml"
            else:
                stats["get"] += 1
                stats["first_get"] = stats["first_get"] or now
                body, kind = BODY, b"application/octet-stream"
            await asyncio.sleep(DELAY)
            if "list-type" in query:
                stats["last_list"] = time.time()
            # Saved at the first LIST and GET and every 100 requests: cheap, and soon
            # enough for the script that waits for the first GET.
            if first or (stats["list"] + stats["get"]) % 100 == 0:
                save()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: " + kind
                + b"\r\nETag: \"0123456789abcdef0123456789abcdef\"\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    save()
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
