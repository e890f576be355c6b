import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fupin.exchange.jobs import Worker


class Command(BaseCommand):
    help = (
        "Work the queue of import and export jobs (the database is the queue). Runs until "
        "stopped; with --once until the queue is empty. SIGTERM or Ctrl-C stops the worker: the "
        "running job is interrupted at its next progress report and queued again; a second "
        "signal exits at once (the job is re-run by the next worker)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run the queued jobs, then exit when none is left"
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="how often an idle worker looks for new jobs (default 2)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                raise SystemExit(128 + signum)
            stop.set()
            self.stderr.write("stopping: the running job, if any, goes back to the queue")

        # A worker started in the background of a script ignores SIGINT (Ctrl-C is for the
        # foreground command); it keeps ignoring it and stops on SIGTERM.
        signals = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signals.append(signal.SIGINT)
        previous = {sig: signal.signal(sig, on_signal) for sig in signals}
        try:
            worker = Worker(tag="cli", poll=max(options["poll"], 0.05), stop=stop)
            if options["verbosity"] > 0 and not options["once"]:
                self.stdout.write(f"worker {worker.identity} waiting for jobs")
            ran = worker.run(drain=options["once"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if options["verbosity"] > 0:
            self.stdout.write(f"{ran} job(s) run")
