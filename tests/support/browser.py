"""A real headless Chromium (Debian's package) driven by Playwright, for end-to-end tests."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("LIVECART_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Without the background-networking flags Chromium keeps calling out to hosts this
# machine cannot reach; --no-sandbox because CI runs as root.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once per browser, before any I/O
        raise RuntimeError(
            f"no Chromium at {CHROMIUM}: `make test` installs it (infra/ci/browser.sh)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def artifact(name: str) -> Path:
    """Where a test saves a screenshot (test-artifacts/, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


class FlakyLink:
    """A TCP relay between the browser and a service, whose network can be cut.

    Playwright's offline mode fails new requests but leaves an open event stream
    alone; a phone losing its network drops it. `cut()` does that: every relayed
    connection is aborted and new ones are refused until `restore()`. The first
    bytes of each connection (its request line and headers) are kept in `requests`,
    so a test can see what a reconnecting EventSource sent (e.g. Last-Event-ID).
    """

    def __init__(self, target_port: int, *, port: int) -> None:
        self.target_port = target_port
        self.port = port
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def restore(self) -> None:
        """Accept and relay connections (again)."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.port, reuse_address=True
            )

    async def cut(self) -> None:
        """Drop every relayed connection and refuse new ones."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._open |= {client_w, upstream_w}
        first = await client_r.read(65536)
        self.requests.append(first.decode("latin-1"))
        upstream_w.write(first)
        await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()


async def sign_in_seller(page: Page, base_url: str, email: str, password: str) -> None:
    """Signs a seller in through the login page of the side at `base_url` (storefront or
    marketplace console: the same form on both)."""
    await page.goto(f"{base_url}/seller/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(f"{base_url}/seller")
