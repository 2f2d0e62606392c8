"""Too many booking attempts from one address get 429 rate_limited; counters can live in Redis."""
from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import base_env


def test_a_flood_of_booking_attempts_is_slowed_down(app, client, expert):
    app.config["KAIROS_RATE_LIMITS"] = {"booking": 3}
    body = {"start": "2030-01-07T09:00:00+01:00", "timezone": "UTC", "client": {"name": "A", "email": "a@b.co"}}
    statuses = [client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body).status_code
                for _ in range(5)]
    assert statuses[:3] != [429] * 3 and statuses[3:] == [429, 429]
    error = client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body).get_json()["error"]
    assert error["code"] == "rate_limited" and error["message"]


def _redis_url() -> str:
    url = os.environ.get("KAIROS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as error:
        if os.environ.get("KAIROS_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required here but unreachable at {url}: {error}")
        pytest.skip(f"Redis tests skipped: {url} unreachable ({error})")
    return url


def test_counters_are_shared_through_redis(tmp_path, sqlite_template):
    import shutil

    from backend.app import create_app
    url = _redis_url()
    db_path = tmp_path / "k.db"
    shutil.copyfile(sqlite_template, db_path)
    env = base_env(tmp_path, f"sqlite:///{db_path}", KAIROS_REDIS_URL=url)
    first, second = create_app(env), create_app(env)  # two "workers"
    for app in (first, second):
        app.config["KAIROS_RATE_LIMITS"] = {"manage": 2}
    token = f"mt_{uuid.uuid4().hex}"  # unknown tokens still count
    env_ip = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    codes = [app.test_client().get(f"/api/v1/manage/{token}", environ_base=env_ip).status_code
             for app in (first, second, first)]
    assert codes == [404, 404, 429]


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(tmp_path, sqlite_template, proxies):
    """With KAIROS_TRUSTED_PROXIES=1 the load balancer's X-Forwarded-For names the client; without it
    the header is ignored, so nobody can dodge the limit by making up addresses."""
    import shutil

    from backend.app import create_app
    db_path = tmp_path / "k.db"
    shutil.copyfile(sqlite_template, db_path)
    app = create_app(base_env(tmp_path, f"sqlite:///{db_path}", KAIROS_TRUSTED_PROXIES=proxies))
    app.config["KAIROS_RATE_LIMITS"] = {"manage": 2}
    client = app.test_client()
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    codes = [client.get(f"/api/v1/manage/mt_{uuid.uuid4().hex}", environ_base=balancer,
                        headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)]
    assert codes == ([404] * 4 if proxies == "1" else [404, 404, 429, 429])


def test_a_bad_trusted_proxies_value_stops_the_start(tmp_path):
    from backend.config import ConfigError, Settings
    with pytest.raises(ConfigError, match="KAIROS_TRUSTED_PROXIES"):
        Settings.from_env(base_env(tmp_path, "sqlite://", KAIROS_TRUSTED_PROXIES="yes"))


def test_a_refused_request_says_when_to_come_back(app, client, expert):
    app.config["KAIROS_RATE_LIMITS"] = {"manage": 1}
    token = f"mt_{uuid.uuid4().hex}"
    assert client.get(f"/api/v1/manage/{token}").status_code == 404
    refused = client.get(f"/api/v1/manage/{token}")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"  # the one error envelope
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_with_redis_down_the_limits_still_hold_in_memory(tmp_path, sqlite_template):
    """Nothing listens on the Redis port: the limiter falls back to counting in the process."""
    import shutil

    from backend.app import create_app
    db_path = tmp_path / "k.db"
    shutil.copyfile(sqlite_template, db_path)
    app = create_app(base_env(tmp_path, f"sqlite:///{db_path}", KAIROS_REDIS_URL="redis://127.0.0.1:9/0"))
    app.config["KAIROS_RATE_LIMITS"] = {"manage": 2}
    client = app.test_client()
    codes = [client.get(f"/api/v1/manage/mt_{uuid.uuid4().hex}").status_code for _ in range(4)]
    assert codes == [404, 404, 429, 429]
