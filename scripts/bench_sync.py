"""Benchmark the sync engine against a provider's emulator (run from the repo root).

Figures: initial import of N remote events (wall and CPU time, peak RSS of the engine process,
the emulator's CPU time and the provider requests it took; the peak RSS of the mapping worker
processes, ``--workers``, is printed apart),
local → remote latency over 200 edits (p50/p99), remote → local latency when a notification
wakes the pull, and provider requests per idle poll.  The emulator runs in a child process so
the RSS and CPU time are the engine's own (CPU time is the steadier figure on a shared machine).

``--provider google`` (the default) measures Google.  ``--provider caldav`` measures a local
stock Radicale (its own process and storage; the events are seeded as files into its
multifilesystem storage, then served by Radicale) with sync-collection, and the idle poll of the
ctag listing as well.  ``--provider microsoft`` measures
Microsoft Graph (the emulator over https with its CA) and then, as the anchor measured in the
same run, Google in a fresh process, and prints Microsoft's figures as ratios of Google's.
``--provider exchange`` measures Exchange (EWS through exchangelib, the emulator over http with
Basic authentication) the same way; "after a notification" is then a poll requested at once
(Exchange is polled).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.bootstrap import open_bridge_store  # noqa: E402
from bridge.caldav.davxml import sync_collection_body  # noqa: E402
from bridge.cpu import CpuPool  # noqa: E402
from bridge.store import SqlStore  # noqa: E402
from bridge.sync.engine import SyncEngine  # noqa: E402
from emulators.google.server import ALICE, EmulatorHooks, basic_seed  # noqa: E402
from emulators.microsoft.server import ADELE, MsEmulatorHooks  # noqa: E402
from emulators.microsoft.server import basic_seed as ms_basic_seed  # noqa: E402
from tests.sync.conftest import (  # noqa: E402
    CAL,
    Harness,
    connect,
    fast_options,
    gevent,
    make_engine,
)
from tests.sync.davpeer import RadicaleServer, dav  # noqa: E402
from tests.sync.providers import (  # noqa: E402
    PRAXIS,
    CaldavControls,
    DavProxy,
    ExchangeControls,
    MsClock,
    caldav_connect,
    caldav_factory,
    ex_connect,
    ex_engine,
    ms_connect,
    ms_engine,
)

EMU = """
import sys, time
from emulators.google.server import EmulatorServer
s = EmulatorServer().start()
print(s.base_url, flush=True)
while True: time.sleep(3600)
"""

MS_EMU = """
import sys, time
from emulators.microsoft.server import MsEmulatorServer
s = MsEmulatorServer().start()
print(s.base_url, s.ca_path, flush=True)
while True: time.sleep(3600)
"""

EWS_EMU = """
import sys, time
from emulators.ews.server import EwsEmulatorServer
s = EwsEmulatorServer().start()
print(s.base_url, flush=True)
while True: time.sleep(3600)
"""

Figures = dict[str, float]
# [sync] workers of the engines measured (None: auto, as the sidecar runs by default).
WORKERS: list[int | None] = [None]


class Emu:
    def __init__(self, base: str) -> None:
        self.base_url = base
        self.api_endpoint = base + "/calendar/v3/"
        self.token_uri = base + "/token"
        self.hooks = EmulatorHooks(base)


class MsEmu:
    """What ``ms_engine``/``ms_connect`` need of the Microsoft emulator in the child process."""

    def __init__(self, base: str, ca_path: str) -> None:
        self.base_url = base
        self.ca_path = ca_path
        self.graph_url = base + "/v1.0"
        self.hooks = MsEmulatorHooks(base, ssl.create_default_context(cafile=ca_path))

    def authority(self, tenant: str = "common") -> str:
        """The msal ``authority`` for a tenant."""
        return f"{self.base_url}/{tenant}"


def emulator(code: str) -> tuple[subprocess.Popen[str], list[str]]:
    """The emulator in a child process and the words of its first line."""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()


def worker_rss_mb(emulator_pid: int) -> list[float]:
    """Peak RSS (``VmHWM``) of each process below this one but the emulator: the mapping
    workers and their fork server."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text()
                                               .rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    mine = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items()
                 if parent in mine and pid not in mine and pid != emulator_pid}
        grew = bool(found)
        mine |= found
    out = []
    for pid in sorted(mine - {os.getpid()}):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmHWM:")), 0)
        out.append(kb / 1024)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a child process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(name: str, count: int, store: SqlStore, engine: SyncEngine, h: Harness,
                  remote_insert: Callable[[int], str], requests: Callable[[], int],
                  reset_counters: Callable[[], None], emulator_pid: int = 0) -> Figures:
    """The four figures for one connected, not yet imported calendar (printed as they come)."""
    cid = h.connection_id
    reset_counters()
    emu_started = cpu_seconds(emulator_pid)
    started, cpu_started = time.perf_counter(), time.process_time()
    await h.pull("import")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    emu_cpu = cpu_seconds(emulator_pid) - emu_started
    import_requests = requests()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import: {len(store.list_items(CAL))} events in {elapsed:.1f} s "
          f"({count / max(elapsed, 1e-9):.0f}/s, engine CPU {cpu:.1f} s), peak RSS {rss:.0f} MB; "
          f"emulator CPU {emu_cpu:.1f} s for {import_requests} requests")
    helpers = worker_rss_mb(emulator_pid)
    print(f"mapping workers ({engine.options.cpu.workers}, {engine.options.cpu.batches} "
          f"batches): peak RSS " + (", ".join(f"{mb:.0f}" for mb in helpers) or "-") + " MB")

    await engine.start()
    latencies = []
    for i in range(200):
        t0 = time.perf_counter()
        h.put(f"edit{i}@bench", day=1 + i % 28, hour=8)
        while not store.query_ledger(connection_id=cid, uid=f"edit{i}@bench", limit=1):
            await asyncio.sleep(0.002)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
    print(f"local → {name} over 200 edits: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")

    downs = []
    for i in range(20):
        t0 = time.perf_counter()
        uid = remote_insert(i)
        engine.request_pull(cid, "notification")  # what the webhook handler does
        while store.get_item_by_uid(CAL, uid) is None:
            await asyncio.sleep(0.002)
        downs.append(time.perf_counter() - t0)
    down = statistics.median(downs)
    print(f"{name} → local after a notification: median "
          f"{down * 1000:.0f} ms, max {max(downs) * 1000:.0f} ms")
    reset_counters()  # before stop: a stopped engine has closed its HTTP sessions
    await engine.pull_connection(cid, "poll")
    idle = requests()
    await engine.stop()
    print(f"requests per idle poll: {idle}")
    store.close()
    return {"import_s": elapsed, "cpu_s": cpu, "rss_mb": rss, "emu_cpu_s": emu_cpu,
            "import_requests": import_requests, "up_p50_s": p50, "up_p99_s": p99,
            "down_median_s": down, "down_max_s": max(downs), "idle_requests": idle}


def bench_store() -> SqlStore:
    """A fresh SQLite store with calendar ``alice/work``."""
    store = open_bridge_store(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    store.create_user("alice", "x")
    store.create_collection(CAL, tag="VCALENDAR", timezone="Europe/Berlin")
    return store


async def bench_google(count: int) -> Figures:
    """Google through its emulator."""
    proc, words = emulator(EMU)
    emu = Emu(words[0])
    try:
        seed = basic_seed()
        seed["events"] = [
            {"calendarId": ALICE, "actor": ALICE,
             **gevent(f"Event {i}", day=1 + i % 28, hour=6 + i % 12)}
            for i in range(count)]
        emu.hooks.reset(seed)
        store = bench_store()
        cid = connect(store, emu)  # type: ignore[arg-type]
        engine = make_engine(store, emu, page_size=2500,  # type: ignore[arg-type]
                             cpu=CpuPool(WORKERS[0]))
        h = Harness(emu, store, engine, cid)  # type: ignore[arg-type]

        def insert(i: int) -> str:
            created = emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=3))
            return str(created["iCalUID"])

        return await measure("Google", count, store, engine, h, insert,
                             lambda: int(emu.hooks.state()["api_requests_total"]),
                             emu.hooks.reset_counters, proc.pid)
    finally:
        proc.kill()


def ms_event(subject: str, day: int, hour: int) -> dict[str, Any]:
    """A Graph event body in March 2030 (inside the window around :class:`MsClock`)."""
    return {"subject": subject,
            "start": {"dateTime": f"2030-03-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2030-03-{day:02d}T{hour + 1:02d}:00:00", "timeZone": "UTC"}}


async def bench_microsoft(count: int) -> Figures:
    """Microsoft Graph through its emulator (https, trusting its CA)."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # msal's verify= must count
        os.environ.pop(name, None)
    proc, words = emulator(MS_EMU)
    emu = MsEmu(words[0], words[1])
    try:
        seed = ms_basic_seed()
        seed["events"] = [{"calendarId": PRAXIS, "actor": ADELE,
                           **ms_event(f"Event {i}", 1 + i % 28, 6 + i % 12)}
                          for i in range(count)]
        emu.hooks.reset(seed)
        store = bench_store()
        cid = ms_connect(store, emu)  # type: ignore[arg-type]
        engine = ms_engine(store, emu, MsClock(), page_size=2500,  # type: ignore[arg-type]
                           cpu=CpuPool(WORKERS[0]))
        h = Harness(emu, store, engine, cid)  # type: ignore[arg-type]

        def insert(i: int) -> str:
            created = emu.hooks.external_change(PRAXIS, "create",
                                                event=ms_event(f"M{i}", 3, 9))
            return str(created["iCalUId"])

        def graph_requests() -> int:
            counts: dict[str, int] = emu.hooks.state()["api_requests"]
            print(f"  Graph requests: {dict(sorted(counts.items()))}")
            return sum(counts.values())

        return await measure("Microsoft", count, store, engine, h, insert, graph_requests,
                             lambda: emu.hooks.call("POST", "reset_counters"), proc.pid)
    finally:
        proc.kill()


class EwsEmu:
    """What ``ExchangeControls`` needs of the EWS emulator in the child process."""

    def __init__(self, base: str) -> None:
        from emulators.ews.server import EwsEmulatorHooks

        self.base_url = base
        self.ews_url = base + "/EWS/Exchange.asmx"
        self.hooks = EwsEmulatorHooks(base, None)


async def bench_exchange(count: int) -> Figures:
    """Exchange (EWS) through its emulator."""
    from emulators.ews.server import ADELE as EWS_ADELE
    from emulators.ews.server import basic_seed as ews_basic_seed

    proc, words = emulator(EWS_EMU)
    emu = EwsEmu(words[0])
    try:
        seed = ews_basic_seed()
        seed["items"] = [{"owner": EWS_ADELE, "calendar": "Praxis", "subject": f"Event {i}",
                          "start": f"2030-03-{1 + i % 28:02d}T{6 + i % 12:02d}:00:00Z",
                          "end": f"2030-03-{1 + i % 28:02d}T{7 + i % 12:02d}:00:00Z"}
                         for i in range(count)]
        emu.hooks.reset(seed)
        controls = ExchangeControls(emu)  # type: ignore[arg-type]
        store = bench_store()
        cid = ex_connect(store, controls)
        engine = ex_engine(store, page_size=512, cpu=CpuPool(WORKERS[0]))
        h = Harness(emu, store, engine, cid)  # type: ignore[arg-type]

        def insert(i: int) -> str:
            return controls.create(f"X{i}", day=3, hour=9)

        def sync_requests() -> int:
            counts = controls.requests()
            others = {op: n for op, n in counts.items() if op != "SyncFolderItems"}
            if others:
                print(f"  other EWS requests during the idle poll: {others}")
            return sum(counts.values())

        return await measure("Exchange", count, store, engine, h, insert, sync_requests,
                             controls.reset_counters)
    finally:
        proc.kill()


def radicale_event(i: int) -> str:
    """One seeded event resource."""
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:bench-{i}@peer\r\nDTSTAMP:20300101T000000Z\r\n"
            f"DTSTART:203003{1 + i % 28:02d}T{6 + i % 12:02d}0000Z\r\n"
            f"DTEND:203003{1 + i % 28:02d}T{7 + i % 12:02d}0000Z\r\n"
            f"SUMMARY:Event {i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


async def bench_caldav(count: int) -> Figures:
    """Stock Radicale (a child process): the import of ``count`` events and an idle poll on
    that calendar; the latencies on a small calendar of the same server, because stock
    Radicale reads the whole collection on every PUT (its UID check), which the figure of one
    PUT into the large calendar shows; the idle poll without sync-collection."""
    root = Path(tempfile.mkdtemp())
    server = RadicaleServer(root)
    proxy = DavProxy(server.base)  # refuses sync-collection for the last figure only
    try:
        path = server.new_calendar()
        folder = root / "collections" / "collection-root" / path.strip("/")
        for i in range(count):
            (folder / f"bench-{i}.ics").write_text(radicale_event(i), encoding="utf-8")
        t0 = time.perf_counter()  # Radicale indexes files put behind its back once
        status, _, _ = dav("REPORT", server.base + path, sync_collection_body(""),
                           headers={"Depth": "0"}, timeout=900)
        print(f"Radicale's own first indexing ({status}): {time.perf_counter() - t0:.1f} s")
        factory = caldav_factory(None)

        def requests() -> int:
            return sum(sum(s.by_status.values()) for s in factory.stats())

        store = bench_store()
        cid = caldav_connect(store, server.base, server.base + path)
        engine = SyncEngine(store, fast_options(page_size=2500, http_timeout=300.0,
                                                cpu=CpuPool(WORKERS[0])),
                            providers={"caldav": factory})
        started, cpu_started = time.perf_counter(), time.process_time()
        await engine.pull_connection(cid, "import")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"import: {len(store.list_items(CAL))} events in {elapsed:.1f} s "
              f"({count / elapsed:.0f}/s, engine CPU {cpu:.1f} s), peak RSS {rss:.0f} MB")
        before = requests()
        await engine.pull_connection(cid, "poll")
        idle_big = requests() - before
        print(f"requests per idle poll ({count} events, sync-collection): {idle_big}")
        await engine.stop()
        store.close()
        t0 = time.perf_counter()
        CaldavControls(server, proxy, path).create("One more")
        put_big = time.perf_counter() - t0
        print(f"one PUT into the {count}-event calendar (Radicale's own time): {put_big:.1f} s")

        small = server.new_calendar()
        store = bench_store()
        cid = caldav_connect(store, server.base, server.base + small)
        engine = SyncEngine(store, fast_options(http_timeout=300.0),
                            providers={"caldav": factory})
        h = Harness(None, store, engine, cid)  # type: ignore[arg-type]
        base = [0]

        def reset() -> None:
            base[0] = requests()

        figures = await measure("Radicale (small calendar)", 0, store, engine, h,
                                lambda i: CaldavControls(server, proxy, small).create(f"R{i}"),
                                lambda: requests() - base[0], reset)
        figures.update({"import_s": elapsed, "cpu_s": cpu, "rss_mb": rss,
                        "idle_requests_big": idle_big, "put_big_s": put_big})

        # An idle poll with sync-collection refused by the proxy (the probe is one PROPFIND
        # Depth:0 whatever the size).
        proxy.no_sync = True
        store = bench_store()
        cid = caldav_connect(store, proxy.base, proxy.base + small)
        engine = SyncEngine(store, fast_options(), providers={"caldav": factory})
        await engine.pull_connection(cid, "import")
        reset()
        await engine.pull_connection(cid, "poll")
        figures["idle_requests_listing"] = requests() - base[0]
        await engine.stop()
        store.close()
        print(f"requests per idle poll without sync-collection: "
              f"{figures['idle_requests_listing']:.0f}")
        return figures
    finally:
        proxy.stop()
        server.stop()


def ratios(ms: Figures, google: Figures, name: str = "Microsoft") -> None:
    """A provider's figures against Google's from the same run."""
    print(f"\n{name} / Google (same run, load average {os.getloadavg()[0]:.1f}):")
    for key, label in (("import_s", "import wall"), ("cpu_s", "import engine CPU"),
                       ("emu_cpu_s", "import emulator CPU"), ("rss_mb", "peak RSS"),
                       ("up_p50_s", "local → remote p50"),
                       ("up_p99_s", "local → remote p99"), ("down_median_s", "remote → local")):
        ratio = f"{ms[key] / google[key]:.2f}x" if google[key] else "-"
        print(f"  {label}: {ms[key]:.3g} / {google[key]:.3g} = {ratio}")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=10_000)
    parser.add_argument("--provider", default="google",
                        choices=("google", "microsoft", "caldav", "exchange"))
    parser.add_argument("--workers", default="auto",
                        help="[sync] workers of the engine: auto (the default) or a number; 0 "
                        "maps in the engine's own process")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    WORKERS[0] = None if args.workers == "auto" else int(args.workers)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.provider in ("google", "caldav"):
        bench = bench_google if args.provider == "google" else bench_caldav
        figures = asyncio.run(bench(args.count))
        if args.json:
            print("FIGURES " + json.dumps(figures))
        return
    name = "Microsoft" if args.provider == "microsoft" else "Exchange"
    print("Microsoft Graph:" if args.provider == "microsoft" else "Exchange (EWS):")
    ms = asyncio.run(bench_microsoft(args.count) if args.provider == "microsoft"
                     else bench_exchange(args.count))
    print("\nGoogle (anchor, fresh process):", flush=True)
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench-sync"), str(args.count),
                          "--json", "--workers", args.workers], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    print("\n".join(line for line in out.splitlines() if not line.startswith("FIGURES ")))
    google = json.loads(next(line for line in out.splitlines()
                             if line.startswith("FIGURES "))[8:])
    ratios(ms, google, name)
