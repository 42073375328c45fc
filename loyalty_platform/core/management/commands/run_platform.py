import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from loyalty_platform import embedded
from loyalty_platform.demo.setup import DEMO_SLUG, demo_platform_ensure
from tenants.platform import base_url, organization_hostname, platform_base_url


def web_workers() -> int:
    """As deployed: WEB_CONCURRENCY web processes, else one per core."""
    return int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)


class Command(BaseCommand):
    help = (
        "Start the whole platform in the foreground: migrate, ensure the demo organization, "
        "run the ASGI server, a Celery worker and beat. Ctrl-C stops everything it started."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument(
            "--workers",
            type=int,
            default=web_workers(),
            help="web worker processes (default: WEB_CONCURRENCY, else the number of cores)",
        )

    def handle(self, *args, **options):
        port = options["port"] or int(settings.PLATFORM_HOST.partition(":")[2] or 8000)
        call_command("migrate_platform", verbosity=0)
        credentials = demo_platform_ensure()
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "loyalty_platform.asgi:application",
                "--host",
                options["host"],
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
                "--workers",
                str(options["workers"]),
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "loyalty_platform",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [python, "-m", "celery", "-A", "loyalty_platform", "beat", "--loglevel", "INFO"],
        }
        children = {name: subprocess.Popen(command) for name, command in commands.items()}
        demo_url = base_url(organization_hostname(DEMO_SLUG))
        shop_key, _, shop_secret = credentials.api_key.removeprefix("sk_live_").partition("_")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "The loyalty platform is running (Ctrl-C stops it).",
                    f"  Platform admin:      {platform_base_url()}/admin/",
                    f"    login:             {credentials.operator_email} / {credentials.operator_password}",
                    f"  Demo admin:          {demo_url}/admin/",
                    f"    login:             {credentials.staff_email} / {credentials.staff_password}",
                    f"  Customer profile:    {demo_url}/me/",
                    f"  API docs:            {platform_base_url()}/api/docs/",
                    f"  Health:              {platform_base_url()}/healthz",
                    f"  Demo POS API key:    {credentials.api_key}",
                    f"  Shop API (Loyalty.lt SDK): {demo_url}/en/shop/",
                    f"    docs:              {platform_base_url()}/api/shop/docs/",
                    f"    X-API-Key:         lty_{shop_key}",
                    f"    X-API-Secret:      {shop_secret}",
                    "",
                ]
            )
        )
        self._wait(children)

    def _wait(self, children: dict[str, subprocess.Popen]) -> None:
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with status {child.returncode}; stopping.")
                        stopping = True
                time.sleep(0.3)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            embedded.stop_started_here()
            self.stdout.write("stopped.")
