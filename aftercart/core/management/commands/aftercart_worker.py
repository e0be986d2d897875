import logging

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string

from aftercart.core.worker import run_worker


class Command(BaseCommand):
    help = "Run a background worker: applies webhooks, sends messages, runs periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--queues", default="*", help="Comma-separated queues, '*' for all")
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds between polls when idle"
        )
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, **opts):
        logging.getLogger("django_tasks_db").setLevel(
            logging.WARNING if opts["verbosity"] < 2 else logging.INFO
        )
        worker_id = opts["worker_id"] or get_random_string(24)
        self.stdout.write(f"worker {worker_id} started (queues: {opts['queues']})")
        run_worker(
            worker_id=worker_id,
            queues=opts["queues"].split(","),
            interval=opts["interval"],
            batch=opts["batch"],
            max_tasks=opts["max_tasks"],
        )
