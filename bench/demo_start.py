"""How long `make demo` takes to its first page, and what its log says on the way.

    python3 bench/demo_start.py                      # make demo, as the README says
    python3 bench/demo_start.py --make-arg VENV=/work/main/.venv \\
        --make-arg=-o --make-arg /work/main/.venv/.installed   # an existing venv, no reinstall

Runs `make demo` in its own process group with a fresh `AFTERSALES_VAR_DIR` (a temporary
directory: an empty SQLite database, a fresh simulator state), and measures from the start:

- **first page**: the first HTTP 200 of http://127.0.0.1:8000/login/ (polled every 0.2 s);
- **history seeded**: the line `seed_demo` prints when the demo's history is complete;
- **a login while the history is written**: 5 s after the first page, `agent` logs in
  (GET the form, POST it) and opens the queue; its status and time show whether the web
  server's writes get their turn beside the seed's.

Then it stops the whole process group (SIGTERM, then SIGKILL), and counts the log's lines:
all of them, the INFO lines of platform calls, tracebacks, and lines whose time is UTC
("+00:00" or "Z" beside a clock time). `--wait-after` keeps the demo running that many seconds
after the history is seeded before stopping, so the log of the first minutes is counted.
Nothing is left running, and the temporary directory is removed unless `--keep`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDED = re.compile(r"演示数据已创建|演示数据已存在")
UTC_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)\b")
PLATFORM_CALL_INFO = re.compile(r"\bINFO\b.*douyin call ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--make", default="make")
    parser.add_argument("--make-arg", action="append", default=[], help="passed on to make")
    parser.add_argument("--url", default="http://127.0.0.1:8000/login/")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--wait-after", type=float, default=0.0)
    parser.add_argument("--keep", action="store_true", help="keep the var dir and the log")
    args = parser.parse_args()

    if _answers(args.url):
        print(f"{args.url} already answers: stop that server first.", file=sys.stderr)
        return 2
    var_dir = Path(tempfile.mkdtemp(prefix="aftersales-demo-start-"))
    log_path = var_dir / "make-demo.log"
    env = {**os.environ, "AFTERSALES_VAR_DIR": str(var_dir)}
    env.pop("DATABASE_URL", None)
    command = [args.make, "demo", *args.make_arg]
    load = os.getloadavg()[0]
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    first_page = seeded = None
    login: tuple[str, float] | None = None
    try:
        while time.monotonic() - started < args.timeout:
            elapsed = time.monotonic() - started
            if process.poll() is not None:
                print(f"make demo ended early (exit {process.returncode})", file=sys.stderr)
                break
            if first_page is None and _answers(args.url):
                first_page = elapsed
            text = log_path.read_text(errors="replace")
            if seeded is None and SEEDED.search(text):
                seeded = elapsed
            if login is None and first_page is not None and elapsed - first_page >= 5:
                login = _log_in(args.url, seeding=seeded is None)
            if (
                first_page is not None
                and seeded is not None
                and elapsed - seeded >= args.wait_after
            ):
                break
            time.sleep(0.2)
    finally:
        _stop(process)
    text = log_path.read_text(errors="replace")
    lines = text.splitlines()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average at start {load:.2f}; command: {' '.join(command)}"
    )
    print(f"first page (200 on {args.url}): " + _seconds(first_page))
    print("history seeded: " + _seconds(seeded))
    if login is not None:
        print(f"login as agent, then the queue: {login[0]} in {login[1]:.2f} s")
    print(
        f"log: {len(lines)} lines, {sum(1 for ln in lines if PLATFORM_CALL_INFO.search(ln))} "
        f"INFO lines of platform calls, {text.count('Traceback (most recent call last)')} "
        f"tracebacks, {sum(1 for ln in lines if UTC_TIME.search(ln))} lines with a UTC time"
    )
    if args.keep:
        print(f"kept {var_dir} (log: {log_path})")
    else:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if first_page is not None else 1


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _log_in(url: str, *, seeding: bool) -> tuple[str, float]:
    """Log in as the demo agent and open the queue: (what happened, seconds)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    began = time.monotonic()
    try:
        form = opener.open(url, timeout=60).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        data = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": "agent",
                "password": "demo-pass-2026",
            }
        ).encode()
        request = urllib.request.Request(url, data=data, headers={"Referer": url})
        with opener.open(request, timeout=60) as answer:  # follows the redirect to the queue
            page = answer.read().decode()
            status = answer.status
        ok = status == 200 and 'class="topbar"' in page and "login" not in answer.url
        outcome = f"{status} {'queue shown' if ok else 'NOT logged in'}"
    except (urllib.error.URLError, OSError) as error:
        outcome = f"failed: {error}"
    when = "while the history was written" if seeding else "after the history"
    return f"{outcome} ({when})", time.monotonic() - began


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The whole process group: make, the server, the worker, the simulator, the loops."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # make is gone; give its children the same moment to go.
        time.sleep(1)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
