"""The embedded Redis comes back on the port the running processes know."""

import errno
import socket

import pytest

from loyalty_platform import embedded


@pytest.fixture
def own_var_dir(tmp_path, monkeypatch):
    """The embedded module's state in a directory of this test: its own Redis server."""
    redis_dir = tmp_path / "redis"
    monkeypatch.setattr(embedded, "VAR_DIR", tmp_path)
    monkeypatch.setattr(embedded, "LOCK_FILE", tmp_path / ".embedded.lock")
    monkeypatch.setattr(embedded, "REDIS_DIR", redis_dir)
    monkeypatch.setattr(embedded, "REDIS_PORT_FILE", redis_dir / "port")
    monkeypatch.setattr(embedded, "REDIS_PID_FILE", redis_dir / "redis.pid")
    monkeypatch.setattr(embedded, "started_here", set())
    yield
    embedded.stop_redis()


def test_redis_keeps_its_port_across_stop_and_start(own_var_dir):
    first = embedded.ensure_redis()
    assert embedded.stop_redis() is True

    second = embedded.ensure_redis()

    assert second == first


def test_redis_refuses_to_move_when_its_port_is_taken(own_var_dir):
    url = embedded.ensure_redis()
    embedded.stop_redis()
    port = int(url.rsplit(":", 1)[1].split("/")[0])

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(embedded.RedisPortTaken, match=f"127.0.0.1:{port}"):
            embedded.ensure_redis()

    assert embedded._redis_pid() is None


def test_a_command_that_started_redis_forgets_its_port_when_it_stops_it(own_var_dir):
    url = embedded.ensure_redis()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    embedded.stop_started_here()
    assert not embedded.REDIS_PORT_FILE.exists()

    with socket.socket() as squatter:  # another checkout took the port meanwhile
        try:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        except OSError as error:  # a process of this busy machine really did take it
            assert error.errno == errno.EADDRINUSE
        again = embedded.ensure_redis()

    assert again != url


def test_a_port_left_in_time_wait_by_stopped_processes_is_free_again():
    """Killed clients leave the server side of their connections in TIME_WAIT; Redis can
    listen there again (SO_REUSEADDR), so the probe must not call the port taken."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _address = listener.accept()
    assert not embedded._loopback_port_is_free(port)
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT
    client.close()
    listener.close()
    assert embedded._loopback_port_is_free(port)
