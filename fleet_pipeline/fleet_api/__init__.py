"""Typed client for the Cartrack Fleet API. Knows nothing else of the project."""

from fleet_pipeline.fleet_api.client import (
    AsyncFleetApiClient,
    Credentials,
    FleetApiClient,
    Timeouts,
    region_base_url,
)
from fleet_pipeline.fleet_api.errors import (
    AuthenticationFailed,
    CreateFailed,
    FleetApiError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    ServerError,
    UnexpectedResponse,
    UploadTooLarge,
    ValidationFailed,
)
from fleet_pipeline.fleet_api.models import (
    BulkUploadAccepted,
    CallbackEntry,
    CallbackParseError,
    Item,
    Job,
    JobPage,
    JobPayload,
    Stop,
    parse_callback,
)
from fleet_pipeline.fleet_api.ratelimit import (
    Budget,
    InProcessRateLimiter,
    RateLimiter,
    SqlRateLimiter,
    account_key,
)
from fleet_pipeline.fleet_api.retry import RetryPolicy
from fleet_pipeline.fleet_api.upload import FieldsNotInTemplate, UploadCsv, build_upload_csv

__all__ = [
    "AsyncFleetApiClient",
    "AuthenticationFailed",
    "Budget",
    "BulkUploadAccepted",
    "CallbackEntry",
    "CallbackParseError",
    "CreateFailed",
    "Credentials",
    "FieldsNotInTemplate",
    "FleetApiClient",
    "FleetApiError",
    "InProcessRateLimiter",
    "Item",
    "Job",
    "JobPage",
    "JobPayload",
    "NotFound",
    "OutcomeUnknown",
    "RateLimited",
    "RateLimiter",
    "RequestNotSent",
    "RetryPolicy",
    "ServerError",
    "SqlRateLimiter",
    "Stop",
    "Timeouts",
    "UnexpectedResponse",
    "UploadCsv",
    "UploadTooLarge",
    "ValidationFailed",
    "account_key",
    "build_upload_csv",
    "parse_callback",
    "region_base_url",
]
