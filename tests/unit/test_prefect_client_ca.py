"""The local Prefect API is plain http, yet Prefect builds a verifying SSL context for every client:
`kefu up` hands its processes a one-certificate CA bundle for that (never for an https API)."""

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings

from deployments.cli import prefect_env
from models.settings import Settings


def settings(tmp_path, **kw) -> Settings:
    return Settings(home=tmp_path, secret_key="x" * 32, env="test", **kw)


def ca_count(client) -> int:
    return client._client._transport._pool._ssl_context.cert_store_stats()["x509_ca"]


def test_a_prefect_client_on_the_local_http_api_loads_one_certificate(tmp_path):
    env = prefect_env(settings(tmp_path))
    assert env["PREFECT_API_URL"].startswith("http://")
    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"],
                             PREFECT_API_SSL_CERT_FILE: env["PREFECT_API_SSL_CERT_FILE"]}):
        assert ca_count(get_client(sync_client=True)) == 1
    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        assert ca_count(get_client(sync_client=True)) > 100  # Prefect's default: certifi's bundle


def test_an_https_api_keeps_the_full_bundle(tmp_path):
    env = prefect_env(settings(tmp_path, prefect_api_url="https://prefect.example.com/api"))
    assert "PREFECT_API_SSL_CERT_FILE" not in env
