import signal
import time

from django.core.management.base import BaseCommand

from aftersales.sla.services import sweep


class Command(BaseCommand):
    help = "Fire due SLA warnings and breaches (once, or every N seconds with --every)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args, every: float, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            warned, breached = sweep()
            if warned or breached or not every:
                self.stdout.write(f"sla sweep: {warned} warned, {breached} breached")
            if not every or stopping:
                return
            time.sleep(every)  # a pause between sweeps, not a stand-in for synchronisation
            if stopping:
                return
