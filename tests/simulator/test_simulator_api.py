"""Every endpoint of the simulated Fleet API over ASGI: shapes, auth, errors, paging, rate limit."""

from __future__ import annotations

import time

import pytest
from sim_support import (
    PASSWORD,
    TOMORROW,
    USER,
    TestClient,
    bulk_csv,
    flush,
    job_payload,
    make_config,
    simulator_client,
    stop,
    upload,
)

JOBS = "/rest/delivery/jobs"


def create(client: TestClient, **changes) -> dict:
    response = client.post(JOBS, json=job_payload(**changes))
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def test_create_answers_200_with_the_job(client: TestClient) -> None:
    response = client.post(JOBS, json=job_payload("REF-1", delivery_driver_name="Sipho Dlamini"))
    assert response.status_code == 200
    job = response.json()["data"]
    assert isinstance(job["job_id"], int)
    assert isinstance(job["order_id"], str)
    assert job["reference_number"] == "REF-1"
    assert job["job_status_id"] == 4
    assert job["scheduled_delivery_ts"] == TOMORROW
    assert job["create_ts"] == "2026-03-02 08:00:00"  # the injected clock
    assert isinstance(job["stops"][0]["stop_id"], int)
    assert job["items"][0]["quantity"] == 2
    assert create(client, reference="REF-2")["job_status_id"] == 2
    assert create(client, reference="REF-3")["job_id"] > job["job_id"]


def test_validation_error_body_is_the_laravel_shape(client: TestClient) -> None:
    response = client.post(JOBS, json=job_payload(job_type_id=2))
    assert response.status_code == 422
    assert response.json() == {
        "data": None,
        "error": {
            "code": 422,
            "message": "The given data was invalid.",
            "data": {"job_type_id": ["The selected job_type_id is invalid."]},
        },
    }


def test_unreadable_body_is_an_empty_input(client: TestClient) -> None:
    response = client.post(JOBS, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert set(response.json()["error"]["data"]) == {"job_type_id", "stops"}


@pytest.mark.parametrize(
    "auth",
    [None, (USER, "wrong"), ("someone", PASSWORD), (USER.upper(), PASSWORD)],
    ids=["no credentials", "wrong password", "unknown user", "user name case"],
)
def test_wrong_credentials_answer_401(client: TestClient, auth) -> None:
    client.auth = auth
    for response in (
        client.post(JOBS, json=job_payload()),
        client.get(JOBS),
        client.get(f"{JOBS}/1"),
        client.post(f"{JOBS}/bulk-upload", files={"file": ("a.csv", b"x")}),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": {"code": 401, "message": "Unauthenticated."}}
    client.auth = (USER, PASSWORD)
    assert client.get(JOBS).json()["meta"]["total"] == 0  # nothing was created


def test_bearer_scheme_is_not_basic_auth(client: TestClient) -> None:
    response = client.get(JOBS, headers={"Authorization": f"Bearer {PASSWORD}"}, auth=None)
    assert response.status_code == 401


def test_get_one_job_and_404s(client: TestClient) -> None:
    job = create(client)
    assert client.get(f"{JOBS}/{job['job_id']}").json() == {"data": job}
    for missing in (job["job_id"] + 1, "abc"):
        response = client.get(f"{JOBS}/{missing}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == 404


def test_jobs_belong_to_their_account() -> None:
    accounts = [{"username": USER, "password": PASSWORD}, {"username": "other", "password": "pw"}]
    with simulator_client(make_config(accounts=accounts)) as client:
        job = create(client, reference="MINE")
        client.auth = ("other", "pw")
        assert client.get(f"{JOBS}/{job['job_id']}").status_code == 404
        assert client.get(JOBS, params={"filter[reference_number]": "MINE"}).json()["data"] == []


def test_list_filters(client: TestClient) -> None:
    first = create(client, reference="R-A", delivery_driver_name="Anna Botha")
    second = create(client, reference="R-B", scheduled_delivery_ts="2026-03-05 10:00:00")
    second_items = [{"quantity": 1, "tracking_number": "TRACK-B"}]
    third = create(
        client, reference="R-B", items=second_items, schedule_type_id=3, scheduled_delivery_ts=None
    )

    def ids(**params) -> list[int]:
        response = client.get(JOBS, params={f"filter[{k}]": v for k, v in params.items()})
        assert response.status_code == 200, response.json()
        return [job["job_id"] for job in response.json()["data"]]

    assert ids(reference_number="R-B") == [second["job_id"], third["job_id"]]
    assert ids(job_id=first["job_id"]) == [first["job_id"]]
    assert ids(order_id=second["order_id"]) == [second["job_id"]]
    assert ids(job_status_id=4) == [first["job_id"]]
    assert ids(schedule_type_id=3) == [third["job_id"]]
    assert ids(driver_id=first["delivery_driver_id"].upper()) == [first["job_id"]]
    assert ids(item_tracking_number="TRACK-B") == [third["job_id"]]
    assert ids(create_ts_from="2026-03-02", create_ts_to="2026-03-02 08:00:00") == [
        first["job_id"],
        second["job_id"],
        third["job_id"],
    ]
    assert ids(create_ts_from="2026-03-02 08:00:01") == []
    assert ids(scheduled_delivery_ts_from="2026-03-04", scheduled_delivery_ts_to="2026-03-05") == [
        second["job_id"]
    ]
    bad = client.get(JOBS, params={"filter[job_id]": "x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["data"] == {
        "filter.job_id": ["The filter.job_id must be an integer."]
    }


def test_paging_walks_every_job_once() -> None:
    with simulator_client(make_config(max_page_size=4)) as client:
        created = [create(client, reference=f"P-{i}")["job_id"] for i in range(10)]
        seen, page = [], 1
        while True:
            body = client.get(JOBS, params={"page": page, "limit": 100}).json()
            assert body["meta"]["per_page"] == 4  # clamped to the max
            seen += [job["job_id"] for job in body["data"]]
            if page >= body["meta"]["last_page"]:
                break
            page += 1
        assert seen == created
        assert body["meta"] == {
            "from": 9,
            "to": 10,
            "current_page": 3,
            "per_page": 4,
            "last_page": 3,
            "total": 10,
        }


def test_rate_limit_answers_429_with_retry_headers() -> None:
    with simulator_client(make_config(rate_limit_per_minute=3)) as client:
        for _ in range(3):
            assert client.get(JOBS).status_code == 200
        before = time.time()
        response = client.get(JOBS)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == 429
        assert response.json()["error"]["message"]
        retry_at = int(response.headers["X-RateLimit-Retry-At"])
        retry_after = int(response.headers["X-RateLimit-Retry-After-Seconds"])
        assert before < retry_at <= before + 61
        assert 1 <= retry_after <= 60
        # writes count against the same budget
        assert client.post(JOBS, json=job_payload()).status_code == 429
        assert client.get("/_simulator/references").json()["summary"]["total_jobs"] == 0


def test_rate_limit_window_reopens() -> None:
    config = make_config(rate_limit_per_minute=1, rate_limit_window_s=0.2)
    with simulator_client(config) as client:
        assert client.get(JOBS).status_code == 200
        assert client.get(JOBS).status_code == 429
        time.sleep(0.25)
        assert client.get(JOBS).status_code == 200


def test_duplicate_reference_creates_a_second_job_by_default(client: TestClient) -> None:
    first, second = create(client, reference="DUP"), create(client, reference="DUP")
    assert first["job_id"] != second["job_id"]
    summary = client.get("/_simulator/references").json()["summary"]
    assert summary["references_created_more_than_once"] == 1
    assert summary["duplicates"] == [
        {
            "account": USER,
            "reference_number": "DUP",
            "job_ids": [first["job_id"], second["job_id"]],
            "count": 2,
        }
    ]


def test_duplicate_reference_can_be_rejected() -> None:
    with simulator_client(make_config(duplicate_reference="reject")) as client:
        create(client, reference="DUP")
        response = client.post(JOBS, json=job_payload("DUP"))
        assert response.status_code == 422
        assert response.json()["error"]["data"] == {
            "reference_number": ["The reference_number has already been taken."]
        }
        assert client.get(JOBS).json()["meta"]["total"] == 1


def test_api_prefix_is_a_setting() -> None:
    with simulator_client(make_config(api_prefix="/api/v1")) as client:
        assert client.get("/api/v1/delivery/jobs").status_code == 200
        assert client.get(JOBS).status_code == 404


def test_unknown_paths_and_methods_answer_an_error_object(client: TestClient) -> None:
    assert client.get("/rest/nothing/here").json() == {
        "error": {"code": 404, "message": "Not Found"}
    }
    response = client.delete(JOBS)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 405


def test_bulk_upload_accepts_both_webhook_field_names(client: TestClient, recorder) -> None:
    content = bulk_csv([{"reference_number": "B-1", "job_type_id": 3, "stops": [stop()]}])
    for field in ("webhook_url", "webhooks_url"):
        response = upload(client, content, **{field: f"https://erp.example/cb/{field}"})
        assert response.status_code == 200
        assert isinstance(response.json()["data"], dict)
    flush(client)
    assert sorted(str(r.url) for r in recorder.requests) == [
        "https://erp.example/cb/webhook_url",
        "https://erp.example/cb/webhooks_url",
    ]


@pytest.mark.parametrize(
    ("config", "files", "form", "expected"),
    [
        pytest.param({}, None, {}, {"file": ["The file field is required."]}, id="no file"),
        pytest.param(
            {},
            {"file": ("jobs.xlsx", b"PK")},
            {},
            {"file": ["The file must be a file of type: csv."]},
            id="xlsx",
        ),
        pytest.param(
            {"max_upload_bytes": 2048},
            {"file": ("jobs.csv", b"reference_number\n" + b"x" * 3000)},
            {},
            {"file": ["The file must not be greater than 2 kilobytes."]},
            id="too big",
        ),
        pytest.param(
            {"max_upload_jobs": 2},
            {"file": ("jobs.csv", bulk_csv([{"reference_number": str(i)} for i in range(3)]))},
            {},
            {"file": ["The file must not contain more than 2 jobs."]},
            id="too many jobs",
        ),
        pytest.param(
            {},
            {"file": ("jobs.csv", bulk_csv([{"reference_number": "x"}]))},
            {"template_version": "v9", "webhooks_url": "not a url"},
            {
                "template_version": ["The selected template_version is invalid."],
                "webhooks_url": ["The webhooks_url must be a valid URL."],
            },
            id="bad version and webhook",
        ),
    ],
)
def test_bulk_upload_refusals(config, files, form, expected) -> None:
    with simulator_client(make_config(**config)) as client:
        response = client.post(f"{JOBS}/bulk-upload", files=files, data=form or None)
        assert response.status_code == 422
        assert response.json() == {
            "data": None,
            "error": {"code": 422, "message": "The given data was invalid.", "data": expected},
        }
        assert client.get("/_simulator/uploads").json()["uploads"] == []


def test_a_thousand_jobs_is_within_the_limit(client: TestClient) -> None:
    rows = [
        {"reference_number": f"K-{i}", "job_type_id": 3, "stops": [stop()]} for i in range(1000)
    ]
    assert upload(client, bulk_csv(rows)).status_code == 200
    flush(client)
    assert client.get(JOBS).json()["meta"]["total"] == 1000


def test_timestamps_are_the_account_local_time() -> None:
    # 08:00 UTC is 10:00 in Johannesburg: 09:00 that day is already past there.
    with simulator_client(make_config(account_timezone="Africa/Johannesburg")) as client:
        past = client.post(JOBS, json=job_payload(scheduled_delivery_ts="2026-03-02 09:00:00"))
        assert past.status_code == 422
        assert list(past.json()["error"]["data"]) == ["scheduled_delivery_ts"]
        job = create(client, scheduled_delivery_ts="2026-03-02 10:00:00")
        assert job["create_ts"] == "2026-03-02 10:00:00"
