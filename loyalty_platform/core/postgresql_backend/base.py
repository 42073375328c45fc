import time

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Skips the health check while `fresh_until` (set by the package's
    mark_clean_connections_fresh) has not passed."""

    fresh_until = 0.0

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() < self.fresh_until:
            self.health_check_done = True
        super().close_if_health_check_failed()
