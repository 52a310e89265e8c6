"""What can go wrong talking to the Fleet API, as types a caller can act on.

The split that matters is between "the API answered no" (ValidationFailed, CreateFailed, ...),
"the request never reached the API" (RequestNotSent, RateLimited: safe to send again) and "we do
not know" (OutcomeUnknown: the job may exist; look it up by reference_number before creating it
again). `retryable` says whether sending the same request again is safe.

No error holds a request, a response or a header, so no credential can leak through one: only the
status, the API's own message and the operation ("POST /delivery/jobs").
"""

from __future__ import annotations


class FleetApiError(Exception):
    """Base of every Fleet API failure."""

    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        operation: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.operation = operation
        super().__init__(self._text())

    def _details(self) -> dict[str, object]:
        return {}

    def _text(self) -> str:
        head = f"{self.operation}: " if self.operation else ""
        status = f"{self.status} " if self.status is not None else ""
        extra = "; ".join(f"{key}={value!r}" for key, value in self._details().items())
        tail = f" ({extra})" if extra else ""
        return f"{head}{status}{self.message or type(self).__name__}{tail}"

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        fields = {"status": self.status, "message": self.message, "operation": self.operation}
        fields.update(self._details())
        args = ", ".join(f"{key}={value!r}" for key, value in fields.items())
        return f"{type(self).__name__}({args})"

    def __reduce__(self):
        # Keyword-only constructors defeat Exception's default pickling (args replay).
        return _restore, (type(self), dict(self.__dict__))


def _restore(cls: type[FleetApiError], state: dict) -> FleetApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._text())
    return error


class ValidationFailed(FleetApiError):
    """422: the API refused the data. `field_errors` maps a field to its messages."""

    def __init__(
        self,
        message: str | None = None,
        *,
        field_errors: dict[str, list[str]] | None = None,
        status: int | None = 422,
        operation: str | None = None,
    ) -> None:
        self.field_errors = dict(field_errors or {})
        super().__init__(message, status=status, operation=operation)

    def _details(self) -> dict[str, object]:
        return {"field_errors": self.field_errors} if self.field_errors else {}


class AuthenticationFailed(FleetApiError):
    """401/403. A base URL of the wrong region answers 401 even with valid credentials."""

    HINT = "check the user name, the API password and the account's region in the base URL"

    def _details(self) -> dict[str, object]:
        return {"hint": self.HINT}


class NotFound(FleetApiError):
    """404: no such job (or no such path)."""


class RateLimited(FleetApiError):
    """429: the account's request budget is spent; the request was not processed."""

    retryable = True

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float,
        status: int | None = 429,
        operation: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, operation=operation)

    def _details(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


class ServerError(FleetApiError):
    """5xx on a read: nothing changed on the server, asking again is safe."""

    retryable = True


class OutcomeUnknown(FleetApiError):
    """No usable answer after the request may have reached the server.

    Time-out, connection lost mid-request, a 5xx or an unreadable 200 on a create or bulk upload:
    the job(s) may or may not exist. Never treat it as a failure; look the job up by
    reference_number before sending it again. On a read (`retryable` is then True) it only means
    no answer came.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        cause: str | None = None,
        retryable: bool = False,
        status: int | None = None,
        operation: str | None = None,
    ) -> None:
        self.cause = cause
        self.retryable = retryable
        super().__init__(message, status=status, operation=operation)

    def _details(self) -> dict[str, object]:
        return {"cause": self.cause} if self.cause else {}


class RequestNotSent(FleetApiError):
    """The connection failed before any byte of the request was sent: safe to send again."""

    retryable = True

    def __init__(
        self,
        message: str | None = None,
        *,
        cause: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.cause = cause
        super().__init__(message, status=None, operation=operation)

    def _details(self) -> dict[str, object]:
        return {"cause": self.cause} if self.cause else {}


class CreateFailed(FleetApiError):
    """A create or bulk upload answered with a non-200 status not covered above (e.g. 400)."""


class UnexpectedResponse(FleetApiError):
    """A read answered with a status or a body this client does not understand."""


class UploadTooLarge(FleetApiError, ValueError):
    """Refused before sending: a bulk file may hold at most 1,000 jobs and 10 MB."""

    def __init__(self, *, jobs: int | None, size_bytes: int | None, reason: str) -> None:
        self.jobs = jobs
        self.size_bytes = size_bytes
        super().__init__(reason, operation="bulk upload")

    def _details(self) -> dict[str, object]:
        return {"jobs": self.jobs, "size_bytes": self.size_bytes}
