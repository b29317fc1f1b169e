"""The blob stores and the session store on real servers: S3 (SeaweedFS) and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from cluster.servers import PostgresServer, S3Server
from imgedit.config import Settings
from imgedit.errors import NotFoundError
from sessions import FileBlobStore, S3BlobStore, SessionStore, create_db_engine, open_blob_store
from tests.test_sessions import png


def test_s3_blob_store_is_content_addressed_streams_and_presigns(s3_server: S3Server, tmp_path: Path) -> None:
    url = s3_server.new_url()
    blobs = open_blob_store(
        Settings(home=tmp_path / "home", blob_url=url, s3_endpoint_url=s3_server.endpoint_url)
    )
    assert isinstance(blobs, S3BlobStore)
    data = png((255, 0, 0), (300, 300)) * 8
    first, second = blobs.put(data), blobs.put(data)
    assert first == second
    assert blobs.exists(first) and blobs.size(first) == len(data)
    assert blobs.get(first) == data
    assert b"".join(blobs.stream(first)) == data
    assert blobs.locate(first) == f"{url}/{first[:2]}/{first[2:4]}/{first}"
    # The content-addressed key under the prefix, exactly as the folder store lays files out.
    listed = s3_server.client().list_objects_v2(Bucket=url.split("/")[2], Prefix=url.split("/", 3)[3])  # type: ignore[attr-defined]
    assert [item["Key"] for item in listed["Contents"]] == [blobs.key(first)]
    target = tmp_path / "copy.bin"
    blobs.copy_to(first, target)
    assert target.read_bytes() == data
    signed = blobs.presigned_url(first, media_type="image/png", disposition="inline", seconds=60)
    assert signed is not None
    answer = httpx.get(signed)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "image/png"
    blobs.delete(first)
    assert not blobs.exists(first)
    with pytest.raises(NotFoundError):
        blobs.get(first)
    with pytest.raises(NotFoundError):
        blobs.get("../../etc/passwd")
    # Nothing was written to the home folder.
    assert not (tmp_path / "home").exists()


def test_s3_parallel_writers_store_one_object(s3_server: S3Server, tmp_path: Path) -> None:
    blobs = S3BlobStore(s3_server.new_url(), endpoint_url=s3_server.endpoint_url)
    data = png((1, 2, 3), (64, 64))
    threads = [threading.Thread(target=blobs.put, args=(data,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listed = s3_server.client().list_objects_v2(Bucket=blobs.bucket, Prefix=blobs.prefix)  # type: ignore[attr-defined]
    assert listed["KeyCount"] == 1


def test_folder_store_is_the_default_and_a_path_url_works(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert open_blob_store(settings).url == str(tmp_path / "home" / "blobs")
    assert isinstance(open_blob_store(settings, str(tmp_path / "elsewhere")), FileBlobStore)


def test_session_store_on_postgres_and_s3_keeps_the_version_graph(
    postgres: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=postgres.new_database(),
        blob_url=s3_server.new_url(),
        s3_endpoint_url=s3_server.endpoint_url,
    )
    store = SessionStore(settings=settings)
    assert store.engine.dialect.name == "postgresql"
    session = store.create_session(title="海报")
    image, v0 = store.add_image(session.id, png((255, 0, 0)), name="red.png")
    v1 = store.add_version(v0.id, png((0, 255, 0)), instruction="变绿", engine="classic")
    store.undo(image.id)
    v2 = store.add_version(v0.id, png((0, 0, 255)), instruction="make it blue")
    assert (v1.number, v2.number, v2.parent_id) == (1, 2, v0.id)
    assert store.read_version(v2) == png((0, 0, 255))
    assert store.version_location(v2).startswith(settings.blob_url or "")
    # A second store on the same URLs (another process, another node) sees the same state.
    again = SessionStore(settings=settings)
    assert [v.number for v in again.versions(image.id)] == [0, 1, 2]
    assert again.head(image.id).id == v2.id
    assert not (tmp_path / "home").exists()


def test_an_unmigrated_postgres_database_is_refused_with_advice(postgres: PostgresServer) -> None:
    from sessions.migrate import SchemaError

    with pytest.raises(SchemaError, match="imgedit db upgrade"):
        create_db_engine(postgres.new_database(migrated=False))


def test_large_results_stream_from_s3_in_chunks_with_their_length(
    postgres: PostgresServer, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.blob_responses
    from tests.server_harness import LiveServer, Storage, wait_for_job

    storage = Storage("postgres+s3", postgres, s3_server)
    with LiveServer(storage.settings(tmp_path / "home")) as live, live.client(live.key()) as client:
        photo = png((200, 40, 40), (96, 64))
        job = client.post(
            "/v1/edits", files={"file": ("p.png", photo, "image/png")}, data={"instruction": "brighter"}
        ).json()
        assert wait_for_job(client, job["job_id"])["status"] == "done"
        whole = client.get(f"/v1/jobs/{job['job_id']}/result")
        monkeypatch.setattr(server.blob_responses, "INLINE_BYTES", 100)  # every result is "large"
        with client.stream("GET", f"/v1/jobs/{job['job_id']}/result") as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["content-length"] == str(len(whole.content))
            assert b"".join(streamed.iter_bytes()) == whole.content


def test_an_unusable_s3_store_is_a_clear_error_at_start_and_on_use(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from cluster.servers import free_port
    from imgedit.config import get_settings
    from imgedit.errors import StorageUnavailableError

    monkeypatch.setenv("IMGEDIT_BLOB_URL", "s3://no-such-bucket/x")
    monkeypatch.setenv("IMGEDIT_S3_ENDPOINT_URL", s3_server.endpoint_url)
    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["serve", "--port", str(free_port())])
    assert refused.exit_code == 1
    assert "no-such-bucket" in refused.output and "IMGEDIT_S3_ENDPOINT_URL" in refused.output
    # A store nobody answers for: every call says which store failed, as our error (a 503).
    unreachable = S3BlobStore("s3://imgedit-test/x", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageUnavailableError, match="s3://imgedit-test/x") as raised:
        unreachable.put(b"bytes")
    assert raised.value.http_status == 503
