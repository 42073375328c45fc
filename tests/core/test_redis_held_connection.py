"""The rate-limit script's connection, kept by each thread (core.redis._window_incr_call)."""

import secrets

from loyalty_platform.core import redis as lp_redis


def test_a_kept_connection_that_the_server_closed_is_opened_again_without_an_outage(monkeypatch):
    # A failure here must not make the rest of the suite skip Redis for a second.
    monkeypatch.setattr(lp_redis, "outage", lp_redis._Outage())
    counter = lp_redis.key("ratelimit", "org_test", secrets.token_hex(4), "transactions")
    assert lp_redis.window_incr(counter, 60)[0] == 1
    host, port = lp_redis._held.connection._sock.getsockname()[:2]
    local_address = f"{host}:{port}"
    assert lp_redis.client().client_kill(local_address) is True  # a restart, an idle timeout

    count, _ = lp_redis.window_incr(counter, 60)

    assert (count, lp_redis.outage.skipping()) == (2, False)
    lp_redis.client().delete(counter)
