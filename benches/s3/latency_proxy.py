"""A TCP proxy on 127.0.0.1 that adds latency to every HTTP response.

    python3 latency_proxy.py LISTEN_PORT UPSTREAM_PORT [DELAY_MS]

Bytes from the client go upstream at once; the first chunk the server sends after a
request is held DELAY_MS (default 25) before it is passed on, the rest of the response
follows as it comes. A local S3 server answers a small GET in 2-3 ms; real S3 takes
20-40 ms to the first byte, so without this a benchmark cannot show whether a client
keeps enough requests in flight. Loopback only.
"""
import asyncio
import sys


async def pipe_up(reader, writer, state):
    try:
        while data := await reader.read(65536):
            state["request"] = True
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def pipe_down(reader, writer, state, delay):
    try:
        while data := await reader.read(65536):
            if state["request"]:
                state["request"] = False
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    delay = (float(sys.argv[3]) if len(sys.argv) > 3 else 25.0) / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_writer.close()
            return
        state = {"request": False}
        await asyncio.gather(
            pipe_up(client_reader, server_writer, state),
            pipe_down(server_reader, client_writer, state, delay),
        )
        server_writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
