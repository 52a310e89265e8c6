"""A scripted Fleet API behind httpx.MockTransport, and canned answers and payloads."""

from __future__ import annotations

import email.parser
import json
from collections.abc import Callable

import httpx

from fleet_pipeline.fleet_api import Credentials

USERNAME = "acme-dispatch-user"
PASSWORD = "s3cr3t-Api-P4ssw0rd"
CREDENTIALS = Credentials(USERNAME, PASSWORD)
BASE_URL = "https://fleetapi-za.cartrack.com/rest"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class ScriptedApi:
    """Answers requests in order with the given responses or exceptions; the last one repeats."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def job_body(job_id: int = 119582, reference: str = "CART202502260001", **extra) -> dict:
    return {
        "job_id": job_id,
        "order_id": f"ORD-{job_id}",
        "reference_number": reference,
        "job_status_id": 2,
        **extra,
    }


def ok(data, **extra) -> httpx.Response:
    return httpx.Response(200, json={"data": data, **extra})


def validation_error(field_errors: dict) -> httpx.Response:
    return httpx.Response(
        422,
        json={
            "data": None,
            "error": {"code": 422, "message": "The given data was invalid.", "data": field_errors},
        },
    )


def error(status: int, message: str = "Something went wrong", **headers) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"code": status, "message": message}},
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )


def multipart_fields(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """form field name -> (file name, raw bytes) of a multipart request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + request.content)
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.get_payload()
    }


def sample_payload(reference: str = "CART202502260001", **extra) -> dict:
    return {
        "reference_number": reference,
        "job_type_id": 3,
        "schedule_type_id": 3,
        "stops": [
            {
                "stop_type_id": 2,
                "customer_name": "Thandi Nkosi",
                "address_line_1": "12 Long Street, Cape Town",
                "contact_number": "+27821234567",
                "email": "thandi@example.co.za",
            }
        ],
        "items": [{"description": "Fridge", "quantity": 1, "weight": 61.5, "weight_measure_id": 1}],
        **extra,
    }


def decoded_json(request: httpx.Request):
    return json.loads(request.content)
